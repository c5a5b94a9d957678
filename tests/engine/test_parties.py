"""Party keys: normalisation, legal forms, transliteration, near-duplicate resolution."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from engine.parties import CanonicalKeys, normalise_name, party_key, resolve_near_duplicates


def _keys(names: list[str | None]) -> list[str | None]:
    return (
        pl.DataFrame({"n": names}, schema={"n": pl.String})
        .select(party_key(pl.col("n")))
        .to_series()
        .to_list()
    )


def test_spellings_of_one_company_share_a_key() -> None:
    keys = _keys(
        [
            "Acme Trading Co., Ltd.",
            "ACME TRADING LIMITED",
            "acme  trading company",
            "Trading Acme L.L.C.",
            "The Acme Trading Corp",
        ]
    )
    assert set(keys) == {"ACME TRADING"}


def test_diacritics_cyrillic_and_legal_forms() -> None:
    assert _keys(["Müller & Söhne GmbH", "MULLER SOHNE"]) == ["MULLER SOHNE"] * 2
    assert _keys(["ООО «Ромашка»", "OOO Romashka", "ТОО Ромашка"]) == ["ROMASHKA"] * 3
    assert _keys(["Société Générale S.A."]) == ["GENERALE SOCIETE"]
    assert _keys(["ЖШС Қазақ Сауда"]) == ["QAZAQ SAUDA"]


def test_empty_and_legal_only_names() -> None:
    assert _keys([None, "", "  ...  ", "Co. Ltd"]) == [None, None, None, "CO LTD"]


def test_normalise_name_keeps_order() -> None:
    out = pl.select(normalise_name(pl.lit("Acme-Trading (HK) Co.,Ltd"))).item()
    assert out == "ACME TRADING HK CO LTD"


@given(
    st.lists(
        st.sampled_from(["ACME", "TRADING", "GLOBAL", "LTD", "KAPPA", "CO"]), min_size=1, max_size=6
    ),
    st.randoms(),
)
def test_key_is_token_order_insensitive(tokens: list[str], rnd: object) -> None:
    shuffled = list(tokens)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = _keys([" ".join(tokens), ", ".join(shuffled).lower()])
    assert a == b


def test_resolve_maps_typos_to_canonical_and_keeps_distinct_names() -> None:
    out = resolve_near_duplicates(
        ["ACME TRADNG", "ACME TRADING", "KAPPA IMPORTS", "KAPA IMPORTS", "ZETA"],
        ["ACME TRADING"],
    ).sort("party_key")
    assert dict(out.iter_rows()) == {
        "ACME TRADNG": "ACME TRADING",
        "KAPA IMPORTS": "KAPA IMPORTS",
        "KAPPA IMPORTS": "KAPA IMPORTS",
        "ZETA": "ZETA",
    }


def test_resolve_without_candidates_is_identity() -> None:
    out = resolve_near_duplicates(["B", "A"], [])
    assert_series_equal(out["party_key"], out["canonical_key"], check_names=False)


def test_resolve_merges_misspellings_but_not_different_words() -> None:
    out = resolve_near_duplicates(
        ["COMMERCE KANGDA SHANGHAI", "PACIFICO SHIPPING", "ACME FOODS TRADING"],
        ["COMMERCE GUANGDA SHANGHAI", "PACIFIC SHIPPING", "ACME TRADING"],
    )
    assert dict(out.iter_rows()) == {
        "COMMERCE KANGDA SHANGHAI": "COMMERCE KANGDA SHANGHAI",
        "PACIFICO SHIPPING": "PACIFIC SHIPPING",
        "ACME FOODS TRADING": "ACME FOODS TRADING",
    }


def test_prepared_canonical_keys_resolve_like_the_plain_list() -> None:
    new = ["ACME TRADNG", "KAPPA IMPORTS", "KAPA IMPORTS", "PACIFICO SHIPPING", "ZETA", ""]
    canon = ["ACME TRADING", "PACIFIC SHIPPING", "", "ACME TRADING", "KAPPA IMPORT"]
    prepared = CanonicalKeys(canon)
    assert prepared.sorted == ["ACME TRADING", "KAPPA IMPORT", "PACIFIC SHIPPING"]
    for _ in range(2):  # the prepared keys are not changed by a call
        assert_frame_equal(
            resolve_near_duplicates(new, prepared), resolve_near_duplicates(new, canon)
        )
