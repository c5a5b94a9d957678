"""Names the sanctioned-party look-alike typology perturbs.

By default these are the trading-type entities (companies, banks, shipping lines) of the
UN Security Council consolidated list shipped in ``engine/watchlists``, read at run time so
the shipped screening has real entries to find. Without that file the generator falls back
to a few names invented for the demo.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
from lxml import etree

from engine.generate._words import DEMO_WATCHLIST_NAMES

UN_LIST = Path(__file__).resolve().parents[1] / "watchlists" / "un-consolidated.xml"
_TRADING = re.compile(
    r"\b(TRADING|CORPORATION|COMPANY|SHIPPING|BANK|BANKING|INDUSTRY|INDUSTRIAL|LIMITED|LTD"
    r"|LLC|ENTERPRISE|IMPEX|IMPORT|EXPORT|MARITIME)\b"
)


def default_watchlist_names(path: Path = UN_LIST) -> list[str]:
    """Trading-entity names from the UN consolidated list XML, else the demo's own names."""
    if not path.is_file():
        return list(DEMO_WATCHLIST_NAMES)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError:
        return list(DEMO_WATCHLIST_NAMES)
    names: list[str] = []
    for entity in tree.iter("ENTITY"):
        raw = entity.findtext("FIRST_NAME") or ""
        # drop acronyms in brackets and multi-name records; keep plain company names
        name = re.sub(r"\s+", " ", re.sub(r"\(.*?\)", "", raw)).strip(" ,").upper()
        if name and ";" not in name and _TRADING.search(name):
            names.append(name)
    return sorted(set(names)) or list(DEMO_WATCHLIST_NAMES)


def write_national_watchlist(path: Path, *, list_name: str, reference_prefix: str) -> Path:
    """A national watchlist CSV (``engine.watchlist.CSV_COLUMNS``) of the names the
    look-alike parties are drawn from: one party entry each, in list ``list_name``,
    referenced ``{reference_prefix}-001``, ``-002``, ..."""
    from engine.watchlist import CSV_COLUMNS

    names = list(DEMO_WATCHLIST_NAMES)
    pl.DataFrame(
        {
            "kind": "party",
            "name": names,
            "list": list_name,
            "reference": [f"{reference_prefix}-{i + 1:03d}" for i in range(len(names))],
        }
    ).with_columns(
        pl.lit(None, pl.String).alias(c) for c in ("imo", "container_number", "note")
    ).select(CSV_COLUMNS).write_csv(path)
    return path
