"""Word lists and curated tables the demo data generator composes its records from.

The tables are data files shipped in ``engine/generate/data`` (read once at import through
:mod:`importlib.resources`, so they travel in the wheel): themed JSON documents
(``ports.json``, ``goods.json``, ``parties.json``, ``carriers.json``), each table an object
``{"about": ..., "value": ...}``, and plain word lists, one entry a line (``*.txt``). Their
order matters: the generator draws by position, so reordering a list changes the output.

Port codes are real UN/LOCODEs and are checked against the shipped seaport table when the
generator starts (a code missing there is a programming error, reported as
:class:`engine.errors.ReferenceDataError`). HS codes are real HS 2022 subheadings, checked
the same way.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")

_DATA = resources.files("engine.generate") / "data"


@cache
def _document(name: str) -> dict[str, Any]:
    tables: dict[str, Any] = json.loads((_DATA / name).read_text(encoding="utf-8"))
    return tables


def _table(document: str, name: str, kind: type[T]) -> T:
    """Table ``name`` of a JSON document, checked against (and converted to) ``kind``."""
    return TypeAdapter(kind).validate_python(_document(document)[name]["value"], strict=False)


def _lines(name: str) -> list[str]:
    """A word list: one entry a line, blank lines ignored."""
    text = (_DATA / f"{name}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


# Ports: real UN/LOCODEs, weights are relative shares of the unit's inbound traffic.
LOADING_PORTS = _table("ports.json", "LOADING_PORTS", dict[str, float])
LONG_TAIL_SHARE = _table("ports.json", "LONG_TAIL_SHARE", float)
CONSIGNEE_COUNTRIES = _table("ports.json", "CONSIGNEE_COUNTRIES", dict[str, float])
DISCHARGE_BY_COUNTRY = _table("ports.json", "DISCHARGE_BY_COUNTRY", dict[str, dict[str, float]])
DELIVERY_PLACES = _table("ports.json", "DELIVERY_PLACES", dict[str, list[tuple[str, str, float]]])
DISCHARGE_SEA = _table("ports.json", "DISCHARGE_SEA", dict[str, str])
DESTINATION_HUBS = _table("ports.json", "DESTINATION_HUBS", dict[str, list[str]])
ORIGIN_HUBS = _table("ports.json", "ORIGIN_HUBS", dict[str, list[str]])
COCAINE_SOURCE_PORTS = _table("ports.json", "COCAINE_SOURCE_PORTS", dict[str, float])
COCAINE_HUBS = _table("ports.json", "COCAINE_HUBS", list[str])
PRECURSOR_PORTS = _table("ports.json", "PRECURSOR_PORTS", dict[str, float])

# Goods: HS chapter mix and packaging profiles, origin specialities, equipment, findings.
CHAPTER_MIX = _table("goods.json", "CHAPTER_MIX", dict[str, float])
CHAPTER_PROFILE = _table("goods.json", "CHAPTER_PROFILE", dict[str, tuple[float, float, str, str]])
ORIGIN_GOODS = _table("goods.json", "ORIGIN_GOODS", dict[str, dict[str, float]])
ORIGIN_GOODS_SHARE = _table("goods.json", "ORIGIN_GOODS_SHARE", float)
EQUIPMENT = _table("goods.json", "EQUIPMENT", dict[str, tuple[list[str], list[float], float]])
TARE_KG = _table("goods.json", "TARE_KG", dict[str, float])
MAX_PAYLOAD_KG = _table("goods.json", "MAX_PAYLOAD_KG", dict[str, float])
DG_BY_CHAPTER = _table("goods.json", "DG_BY_CHAPTER", dict[str, list[str]])
VAGUE_DESCRIPTIONS = _table("goods.json", "VAGUE_DESCRIPTIONS", list[str])
DESCRIPTION_PREFIXES = _table("goods.json", "DESCRIPTION_PREFIXES", list[str])
PRECURSOR_TRUE = _table("goods.json", "PRECURSOR_TRUE", dict[str, tuple[str, str]])
PRECURSOR_COVER = _table("goods.json", "PRECURSOR_COVER", dict[str, str])
COCAINE_COVER_HS = _table("goods.json", "COCAINE_COVER_HS", list[str])
TYPOLOGY_FINDINGS = _table("goods.json", "TYPOLOGY_FINDINGS", dict[str, list[tuple[str, float]]])
CLEAN_FINDINGS = _table("goods.json", "CLEAN_FINDINGS", list[tuple[str, float]])

# Parties: name stems, legal forms, streets, banks, forwarders.
STEMS_GENERIC = _lines("stems_generic")
STEMS_CENTRAL_ASIA = _lines("stems_central_asia")
STEMS_CHINESE = _lines("stems_chinese")
STEMS_LATIN = _lines("stems_latin")
INDUSTRY_WORDS = _lines("industry_words")
LEGAL_FORMS = _table("parties.json", "LEGAL_FORMS", dict[str, list[str]])
DEFAULT_LEGAL_FORMS = _table("parties.json", "DEFAULT_LEGAL_FORMS", list[str])
STREETS_BY_COUNTRY = _table("parties.json", "STREETS_BY_COUNTRY", dict[str, list[str]])
STREETS_GENERIC = _lines("streets_generic")
PLACEHOLDER_NOTIFY = _table("parties.json", "PLACEHOLDER_NOTIFY", list[str])
BANKS = _lines("banks")
FORWARDER_STEMS = _lines("forwarder_stems")
# Sanctioned-party look-alikes: names invented for the demo, used only when the shipped UN
# list (engine/watchlists) is absent; see engine/generate/_watchlist.py.
DEMO_WATCHLIST_NAMES = _lines("demo_watchlist_names")

# Carriers: SCAC, vessel name style, container owner prefixes, share of the unit's traffic.
CARRIERS = _table("carriers.json", "CARRIERS", list[tuple[str, str, list[str], float]])
LESSOR_PREFIXES = _lines("lessor_prefixes")
VESSEL_WORDS = _lines("vessel_words")
