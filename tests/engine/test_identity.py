"""engine.identity against plain hashlib: file ids, batch ids, legacy ids, fingerprints."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.identity import (
    BatchIdentity,
    batch_id,
    batch_identity,
    canonical_json,
    file_id,
    fingerprint,
    frame_fingerprint,
    json_fingerprint,
    same_fingerprint,
    short_id,
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_file_id_is_the_sha256_of_its_bytes_wherever_it_lies(tmp_path: Path) -> None:
    data = b"container_number\nMSCU1234565\n" * 70_000  # over one read block
    here = _write(tmp_path / "a" / "m.csv", data)
    there = Path(shutil.copy(here, tmp_path / "elsewhere.txt"))
    assert file_id(here) == file_id(there) == _sha(data)


def test_one_file_is_a_batch_whose_id_is_the_file_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", b"a,b\n1,2\n")
    identity = batch_identity([path])
    assert identity.id == file_id(path) == batch_id([file_id(path)])
    assert identity.bytes_sha256 == identity.id  # the pipeline's id before: unchanged


def test_a_batch_of_files_is_the_set_of_their_contents(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", b"a,b\n1,2\n")
    b = _write(tmp_path / "b.csv", b"a,b\n3,4\n")
    moved = _write(tmp_path / "other" / "renamed.csv", a.read_bytes())
    expected = _sha(
        b"lookout batch\n" + b"".join(sorted(f"{_sha(p.read_bytes())}\n".encode() for p in (a, b)))
    )
    assert batch_identity([a, b]).id == expected
    assert batch_identity([b, a]).id == expected  # order does not matter
    assert batch_identity([b, moved]).id == expected  # nor paths
    assert batch_identity([a, a]).id != batch_identity([a]).id  # copies do
    _write(b, b"a,b\n3,5\n")
    assert batch_identity([a, b]).id != expected  # contents do


def test_legacy_ids_are_those_earlier_versions_wrote(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", b"a,b\n1,2\n")
    b = _write(tmp_path / "b.csv", b"a,b\n3,4\n")
    identity = batch_identity([a, b])
    digests = [hashlib.sha256(p.read_bytes()) for p in (a, b)]
    # `lookout score` on a glob: the files' bytes, concatenated in order
    assert _sha(a.read_bytes() + b.read_bytes()) in identity.legacy
    # `lookout history add`: "sha256:" + the sha256 of the raw file digests
    assert "sha256:" + _sha(b"".join(d.digest() for d in digests)) in identity.legacy
    # `lookout model train/evaluate`: 16 digits of the sha256 of the hex file digests
    assert _sha("".join(d.hexdigest() for d in digests).encode())[:16] in identity.legacy
    assert identity.id not in identity.legacy and identity.ids == identity.legacy | {identity.id}


def test_a_run_record_round_trips_and_an_old_one_reads(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", b"x\n1\n")
    b = _write(tmp_path / "b.csv", b"x\n2\n")
    identity = batch_identity([a, b])
    assert BatchIdentity.from_record({"files": ["a", "b"], **identity.to_record()}) == identity
    old = {"files": [str(a), str(b)], "sha256": _sha(a.read_bytes() + b.read_bytes())}
    read = BatchIdentity.from_record(old)  # a run.json of before batch ids
    assert read.id == old["sha256"] and read.id in identity.ids


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one file"):
        batch_identity([])
    with pytest.raises(ValueError, match="at least one file"):
        batch_id([])


def test_fingerprints_are_whole_sha256_of_the_content() -> None:
    assert fingerprint("kind: policy\n") == _sha(b"kind: policy\n")
    assert fingerprint("a", b"b", "ñ") == _sha("abñ".encode())
    assert json_fingerprint({"b": 1, "a": [1, 2]}) == json_fingerprint({"a": [1, 2], "b": 1})
    assert canonical_json({"b": 1, "a": "ñ"}) == '{"a":"ñ","b":1}'


def test_frame_fingerprint_follows_names_and_values() -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert frame_fingerprint(frame) == frame_fingerprint(frame.clone())
    assert frame_fingerprint(frame) != frame_fingerprint(frame.rename({"b": "c"}))
    assert frame_fingerprint(frame) != frame_fingerprint(frame.with_columns(pl.col("a") + 1))


def test_short_ids_are_for_people() -> None:
    full = _sha(b"m")
    assert short_id(full) == full[:12]
    assert short_id("sha256:" + full) == full[:12]
    assert short_id("2025-03-01") == "2025-03-01"  # a batch name is shown whole
    assert short_id("demo-history-seed7") == "demo-history-seed7"


def test_a_legacy_16_digit_fingerprint_still_names_its_content() -> None:
    full = _sha(b"model")
    assert same_fingerprint(full, full)
    assert same_fingerprint(full[:16], full)
    assert not same_fingerprint(_sha(b"other")[:16], full)
    assert not same_fingerprint(full[:20], full)  # only the old 16-digit form


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=64), min_size=1, max_size=5), st.randoms())
def test_batch_id_is_order_free_and_matches_its_definition(
    tmp_path_factory: pytest.TempPathFactory, contents: list[bytes], rnd: object
) -> None:
    folder = tmp_path_factory.mktemp("batch")
    paths = [_write(folder / f"{i}.bin", data) for i, data in enumerate(contents)]
    shuffled = list(paths)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    ids = sorted(_sha(c) for c in contents)
    expected = (
        ids[0]
        if len(ids) == 1
        else _sha(("lookout batch\n" + "".join(f"{i}\n" for i in ids)).encode())
    )
    assert batch_identity(paths).id == batch_identity(shuffled).id == expected
