"""Every model feature reads as a sentence in every locale: no raw name, no "missing"."""

from __future__ import annotations

import re

import polars as pl
import pytest

from engine.i18n import LOCALES
from models.artifact import load_model
from models.phrases import PHRASES, phrase_expr
from models.stage import ModelStage

SHIPPED = load_model("models/default")
RAW = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # a snake_case field name
BAD = ("n/a", "missing", "{", "}", "None", "nan")


def _clean(text: str) -> None:
    assert text and not RAW.search(text), text
    assert not any(b in text for b in BAD), text


def test_every_shipped_feature_has_a_phrase_in_every_locale() -> None:
    for f in SHIPPED.plan.features:
        phrase = PHRASES.get(f.source)
        assert phrase is not None, f.source
        for locale in LOCALES:
            assert phrase.text[locale] and phrase.missing[locale] and phrase.label[locale]
            if phrase.form == "flag":
                assert phrase.other[locale], f.source
    # Russian phrases are Russian (Cyrillic), not English copies.
    for name, phrase in PHRASES.items():
        assert re.search("[а-яё]", phrase.missing["ru"] + phrase.text["ru"]), name


@pytest.mark.parametrize("locale", LOCALES)
def test_phrases_render_values_zero_one_and_missing(locale: str) -> None:
    numbers = pl.DataFrame({"v": [None, 0.0, 1.0, 52.73, 0.4567, 1234.5]})
    codes = pl.DataFrame({"v": [None, "to_order", "ECGYE"]})
    for name, phrase in PHRASES.items():
        frame, code = (codes, True) if phrase.form == "code" else (numbers, False)
        out = frame.select(phrase_expr(name, pl.col("v"), locale, code=code)).to_series()
        for text in out.to_list():
            _clean(text)
        assert out[0] == phrase.missing[locale]
    days = numbers.select(phrase_expr("consignee_first_seen_days", pl.col("v"), locale))
    assert (
        "52" in days.item(3, 0) and "52.7" not in days.item(3, 0) and "52,7" not in days.item(3, 0)
    )
    share = numbers.select(phrase_expr("shipper_hs_chapter_share", pl.col("v"), locale))
    assert share.item(4, 0).startswith("46 %")
    # None of the past shipments: a phrase of its own; a few: "under 1 %", never "0 %".
    zero = PHRASES["shipper_hs_chapter_share"].other[locale]
    assert share.item(1, 0) == zero
    tiny = pl.DataFrame({"v": [0.003]}).select(
        phrase_expr("shipper_hs_chapter_share", pl.col("v"), locale)
    )
    assert tiny.item().startswith({"en": "under 1 % ", "ru": "менее 1 % "}[locale])


def test_shipped_model_reasons_read_plainly_in_both_languages() -> None:
    stage = ModelStage(SHIPPED)
    sources = {f.source for f in SHIPPED.plan.features}
    # Unknown parties, no history, odd values: the reasons must still read as sentences.
    frame = pl.DataFrame(
        {
            s: pl.Series([None, 0, 5], dtype=pl.Float64)
            if s not in ("iso_type", "bl_type", "freight_terms", "freight_payment", "fcl_lcl")
            and not s.endswith(("country", "port_of_loading", "port_of_discharge"))
            and s not in ("hs_chapter", "hs_heading", "carrier_scac")
            else pl.Series(["45R1", None, "to_order"], dtype=pl.String)
            for s in sorted(sources)
        }
    )
    out = stage.explain(frame)
    english, russian = out["model_reasons"].to_list(), out["model_reasons_ru"].to_list()
    assert any(english) and [len(r) for r in english] == [len(r) for r in russian]
    for reasons in (*english, *russian):
        for reason in reasons:
            _clean(reason.rsplit("+", 1)[0])
    for reasons in russian:
        assert all(re.search("[а-яё]", r) for r in reasons), reasons
