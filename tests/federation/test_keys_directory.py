"""Unit identity and partner directory: errors name the file, line and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.federation import PartnerDirectory, UnitConfigError, init_unit, load_unit, parse_directory


def test_init_refuses_to_overwrite_a_key(tmp_path: Path) -> None:
    init_unit(tmp_path, unit_id="UZ-TAS-PCU", country="UZ", name="T", base_url="http://x")
    with pytest.raises(UnitConfigError, match="already exists") as err:
        init_unit(tmp_path, unit_id="UZ-TAS-PCU", country="UZ", name="T", base_url="http://x")
    assert err.value.hint and "--force" in err.value.hint
    replaced = init_unit(
        tmp_path, unit_id="UZ-TAS-PCU", country="UZ", name="T", base_url="http://x", force=True
    )
    assert load_unit(tmp_path).directory_entry() == replaced.directory_entry()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"unit_id": "uz-tas"}, "not of the form"),
        ({"country": "Uzb"}, "alpha-2"),
        ({"base_url": "ftp://x"}, "must start with"),
    ],
)
def test_init_validates_its_input(tmp_path: Path, kwargs: dict[str, str], message: str) -> None:
    args = {"unit_id": "UZ-TAS-PCU", "country": "UZ", "name": "T", "base_url": "http://x", **kwargs}
    with pytest.raises(UnitConfigError, match=message):
        init_unit(tmp_path, **args)


def test_load_refuses_a_world_readable_key(tmp_path: Path) -> None:
    init_unit(tmp_path, unit_id="UZ-TAS-PCU", country="UZ", name="T", base_url="http://x")
    (tmp_path / "unit.key").chmod(0o644)
    with pytest.raises(UnitConfigError, match="readable by other users") as err:
        load_unit(tmp_path)
    assert err.value.hint == f"chmod 600 {tmp_path / 'unit.key'}"


def test_load_without_init_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(UnitConfigError, match="not initialised") as err:
        load_unit(tmp_path)
    assert "lookout unit init" in str(err.value.hint)


def test_directory_parses_and_locates_errors(tmp_path: Path) -> None:
    kz = init_unit(
        tmp_path / "kz", unit_id="KZ-ALA-PCU", country="KZ", name="A", base_url="http://kz"
    )
    path = tmp_path / "partners.yaml"
    key = kz.directory_entry()["public_key"]
    good = (
        "units:\n  - unit_id: KZ-ALA-PCU\n    country: KZ\n    name: A\n"
        f"    base_url: http://kz/\n    public_key: {key}\n"
    )
    partners = parse_directory(path, good)
    assert list(partners) == ["KZ-ALA-PCU"] and partners["KZ-ALA-PCU"].base_url == "http://kz"

    bad_key = good.replace(kz.directory_entry()["public_key"], "bm90IGEga2V5")
    with pytest.raises(UnitConfigError) as err:
        parse_directory(path, bad_key)
    loc = err.value.location
    assert loc is not None and (loc.file, loc.line, loc.column, loc.field) == (
        str(path),
        6,
        17,
        "public_key",
    )

    with pytest.raises(UnitConfigError, match="a partner entry has no 'country'") as err:
        parse_directory(
            path, "units:\n  - unit_id: KZ-ALA-PCU\n    base_url: http://kz\n    public_key: x\n"
        )
    assert err.value.location is not None and err.value.location.line == 2
    assert "has no 'name'" in (err.value.hint or "")

    with pytest.raises(UnitConfigError, match="unknown key 'base_ulr' in a partner entry") as err:
        parse_directory(path, good.replace("base_url", "base_ulr"))
    assert str(err.value.location) == f"{path}:5:5"
    assert (err.value.hint or "").startswith("did you mean 'base_url'?")
    norway = parse_directory(path, good.replace("country: KZ", "country: NO"))
    assert norway["KZ-ALA-PCU"].country == "NO"  # text as written, not YAML's boolean

    with pytest.raises(UnitConfigError, match="listed twice"):
        parse_directory(path, good + good.replace("units:\n", ""))
    with pytest.raises(UnitConfigError, match="top-level `units:`"):
        parse_directory(path, "- a\n")
    with pytest.raises(UnitConfigError, match="YAML syntax") as err:
        parse_directory(path, "units: [\n")
    assert err.value.location is not None and err.value.location.line is not None


def test_directory_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    kz = init_unit(
        tmp_path / "kz", unit_id="KZ-ALA-PCU", country="KZ", name="A", base_url="http://kz"
    )
    path = tmp_path / "partners.yaml"
    directory = PartnerDirectory(path)
    assert directory.all() == []
    import yaml

    path.write_text(yaml.safe_dump({"units": [kz.directory_entry()]}))
    assert directory.get("KZ-ALA-PCU") is not None
    path.write_text("units: []\n")
    assert directory.get("KZ-ALA-PCU") is None
    with pytest.raises(UnitConfigError, match="not in the partner directory"):
        directory.require("KZ-ALA-PCU")
