"""The CUSCAR walk: positioned segments → messages → consignments → long tables.

Each segment tag has one reader (``_HANDLERS``); a reader stores plain values in the current
message, consignment, goods item or equipment, or raises ``_Broken`` with the reason. The
walk decides what a problem quarantines (its consignment, or its whole message) and hands
the clean consignments on as long tables for ``engine.formats.cuscar`` to assemble in polars.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.formats._common import WEIGHT_UNITS, known_units
from engine.formats._edifact import RawSegment

_LOC = {
    "9": "port_of_loading",
    "11": "port_of_discharge",
    "88": "place_of_receipt",
    "7": "place_of_delivery",
    "5": "port_of_loading",
}
_NAD = {"CZ": "shipper", "CN": "consignee", "N1": "notify", "NI": "notify"}
_DTM = {
    "137": "filed_at",
    "132": "arrival_eta",
    "178": "arrival_eta",
    "133": "departed_at",
    "186": "departed_at",
}
_DATE_FORMATS = {"102": ("%Y%m%d", 8), "203": ("%Y%m%d%H%M", 12), "204": ("%Y%m%d%H%M%S", 14)}
_WEIGHT_DIMENSIONS = {"G", "AAB", "N", "AAA", "T", "AAD", "AAL", "AAF"}
_GROSS = {"G", "AAB", "AAD"}


class _Broken(Exception):
    """A segment that cannot be used; carries the reason."""


@dataclass
class _Consignment:
    segment: RawSegment
    values: dict[str, Any] = field(default_factory=dict)
    goods: list[dict[str, Any]] = field(default_factory=list)
    placements: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[RawSegment, str]] = field(default_factory=list)


@dataclass
class _Message:
    segment: RawSegment
    values: dict[str, Any] = field(default_factory=dict)
    consignments: list[_Consignment] = field(default_factory=list)
    problems: list[tuple[RawSegment, str]] = field(default_factory=list)
    count: int = 1


@dataclass
class Tables:
    consignments: list[dict[str, Any]] = field(default_factory=list)
    goods: list[dict[str, Any]] = field(default_factory=list)
    placements: list[dict[str, Any]] = field(default_factory=list)
    equipment: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[tuple[int, str | None, str, str | None]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Segment readers: each returns plain values or raises _Broken with the reason
# ---------------------------------------------------------------------------------------
def _number(text: str, what: str) -> float:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise _Broken(f"{what} '{text}' is not a number") from None


def _date(seg: RawSegment) -> tuple[str, str | None]:
    qualifier, value, fmt = seg.component(0, 0), seg.component(0, 1), seg.component(0, 2) or "102"
    if qualifier not in _DTM:
        return qualifier, None
    spec = _DATE_FORMATS.get(fmt)
    if spec is None:
        raise _Broken(f"date format code '{fmt}' is not supported (use 102, 203 or 204)")
    if len(value) != spec[1] or not (value.isascii() and value.isdigit()):
        raise _Broken(f"date '{value}' does not match format code {fmt}")
    iso = f"{value[0:4]}-{value[4:6]}-{value[6:8]}"
    if len(value) >= 12:
        iso += f"T{value[8:10]}:{value[10:12]}:{value[12:14] or '00'}"
    return qualifier, iso


def _party(seg: RawSegment) -> dict[str, str | None]:
    name = " ".join(p for p in seg.components(3) if p) or " ".join(
        p for p in seg.components(2) if p
    )
    street = ", ".join(p for p in seg.components(4) if p)
    parts = [street, seg.component(5), seg.component(6), seg.component(7), seg.component(8)]
    return {
        "name": name or None,
        "address": ", ".join(p for p in parts if p) or None,
        "country": seg.component(8) or None,
        "id": seg.component(1) or None,
    }


def _weight(seg: RawSegment) -> tuple[str, float | None]:
    """(dimension qualifier, kg) of a MEA segment; kg is None for non-weight measures."""
    purpose, dimension = seg.component(0), seg.component(1)
    unit, value = seg.component(2, 0), seg.component(2, 1)
    if not (purpose == "WT" or dimension in _WEIGHT_DIMENSIONS) or not value:
        return dimension, None
    factor = WEIGHT_UNITS.get(unit.lower())
    if factor is None:
        raise _Broken(f"unknown unit of measure '{unit}' for the weight (known: {known_units()})")
    return dimension, _number(value, "weight") * factor


def _equipment(seg: RawSegment, order: int) -> dict[str, Any]:
    number = seg.component(1)
    if not number:
        raise _Broken("EQD without an equipment identification (C237/8260)")
    full_empty = seg.component(5)
    return {
        "container_number": number,
        "iso_type": seg.component(2) or None,
        "seals": [],
        "is_empty": {"4": True, "5": False}.get(full_empty),
        "eq_kg": None,
        "order": order,
    }


def _integer(text: str, what: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise _Broken(f"{what} '{text}' is not a whole number")
    return int(text)


# ---------------------------------------------------------------------------------------
# The walk: segments → messages → consignments → long tables
# ---------------------------------------------------------------------------------------
class _Walker:
    def __init__(self) -> None:
        self.tables = Tables()
        self.message: _Message | None = None
        self.consignment: _Consignment | None = None
        self.goods: dict[str, Any] | None = None
        self.eq: dict[str, Any] | None = None
        self.context = "none"
        self.eq_order = 0

    # -- routing -------------------------------------------------------------------------
    def feed(self, seg: RawSegment) -> None:
        if self.message is not None:
            self.message.count += 1
        if seg.error is not None:
            self._problem(seg, seg.error)
            if seg.tag == "UNT":
                self._end_message(seg, checked=False)
            return
        handler = _HANDLERS.get(seg.tag)
        try:
            if handler is not None:
                handler(self, seg)
        except _Broken as err:
            self._problem(seg, str(err))

    def finish(self) -> Tables:
        if self.message is not None:
            self.message.problems.append(
                (self.message.segment, "the message has no UNT trailer (the file is cut off?)")
            )
            self._flush_message()
        return self.tables

    def _problem(self, seg: RawSegment, reason: str) -> None:
        if self.consignment is not None:
            self.consignment.problems.append((seg, reason))
        elif self.message is not None:
            self.message.problems.append((seg, reason))
        else:
            self.tables.quarantine.append(
                (
                    seg.position,
                    seg.tag,
                    f"segment {seg.position} (line {seg.line}) outside any message: {reason}",
                    seg.text,
                )
            )

    # -- service segments --------------------------------------------------------------------
    def _seg_unh(self, seg: RawSegment) -> None:
        if self.message is not None:
            self.message.problems.append((seg, "a new UNH began before this message's UNT"))
            self._flush_message()
        self.message = _Message(seg, {"message_reference": seg.component(0) or None})
        self.consignment = self.goods = self.eq = None
        self.context = "header"
        if seg.component(1, 0) != "CUSCAR":
            raise _Broken(f"message type '{seg.component(1, 0)}' is not CUSCAR")

    def _seg_unt(self, seg: RawSegment) -> None:
        if self.message is None:
            raise _Broken("UNT without a UNH")
        self._end_message(seg, checked=True)

    def _end_message(self, seg: RawSegment, checked: bool) -> None:
        if self.message is None:
            return
        declared = seg.component(0)
        if checked and declared != str(self.message.count):
            self.message.problems.append(
                (
                    seg,
                    f"UNT declares {declared or 'no'} segments but the "
                    f"message has {self.message.count}: segments are missing "
                    "or extra",
                )
            )
        self._flush_message()

    # -- message and consignment segments ----------------------------------------------------
    def _target(self) -> dict[str, Any]:
        if self.consignment is not None:
            return self.consignment.values
        if self.message is None:
            raise _Broken("segment outside a UNH…UNT message")
        return self.message.values

    def _seg_bgm(self, seg: RawSegment) -> None:
        self._target()["manifest_number"] = seg.component(1) or None

    def _seg_dtm(self, seg: RawSegment) -> None:
        qualifier, iso = _date(seg)
        if iso is not None:
            self._target()[_DTM[qualifier]] = iso

    def _seg_tdt(self, seg: RawSegment) -> None:
        self.context = "tdt"
        if self.consignment is not None and seg.component(0) != "20":
            return  # pre- or on-carriage of one consignment: not the vessel of the report
        target = self._target()
        target["voyage"] = seg.component(1) or None
        carrier = seg.component(4, 0)
        if re.fullmatch(r"[A-Z]{2,4}", carrier):
            target["carrier_scac"] = carrier
        ident, name = seg.component(7, 0), seg.component(7, 3)
        if re.fullmatch(r"(IMO)?\d{7}", ident):
            target["vessel_imo"] = ident.removeprefix("IMO")
        target["vessel_name"] = name or None

    def _seg_loc(self, seg: RawSegment) -> None:
        qualifier, code = seg.component(0), seg.component(1, 0)
        if not code:
            raise _Broken(f"LOC {qualifier} without a location code")
        target = self._target()
        if qualifier == "13":
            target.setdefault("transshipment_ports", []).append(code)
        elif qualifier == "27":
            target["origin_country"] = code
        elif qualifier in _LOC and not (qualifier == "5" and "port_of_loading" in target):
            target[_LOC[qualifier]] = code

    def _seg_nad(self, seg: RawSegment) -> None:
        role = _NAD.get(seg.component(0))
        if role is None:
            return
        party = _party(seg)
        target = self._target()
        for key, value in party.items():
            if role == "notify" and key in ("country", "id"):
                continue
            target[f"{role}_{key}"] = value

    def _seg_rff(self, seg: RawSegment) -> None:
        if self.consignment is None:
            return
        qualifier, value = seg.component(0, 0), seg.component(0, 1)
        if qualifier == "BM" and value:
            self.consignment.values.setdefault("bl_number", value)
        elif qualifier == "BH" and value:
            self.consignment.values["house_bl_number"] = value

    def _seg_cni(self, seg: RawSegment) -> None:
        if self.message is None:
            raise _Broken("CNI outside a UNH…UNT message")
        self._close_consignment()
        self.consignment = _Consignment(seg)
        self.message.consignments.append(self.consignment)
        if seg.component(1, 0):
            self.consignment.values["bl_number"] = seg.component(1, 0)
        self.goods = self.eq = None
        self.context = "cni"

    def _seg_gid(self, seg: RawSegment) -> None:
        if self.consignment is None:
            raise _Broken("GID outside a consignment (CNI)")
        self.goods = {
            "cni": self.consignment.segment.position,
            "gid": len(self.consignment.goods) + 1,
            "packages": _integer(seg.component(1, 0), "number of packages"),
            "package_type": seg.component(1, 1) or seg.component(1, 4) or None,
            "descriptions": [],
            "kg": None,
            "hs_codes": [],
            "un_numbers": [],
        }
        self.consignment.goods.append(self.goods)
        self.context = "gid"

    def _seg_ftx(self, seg: RawSegment) -> None:
        if self.context == "gid" and self.goods is not None and seg.component(0) == "AAA":
            text = " ".join(p for p in seg.components(3) if p)
            if text:
                self.goods["descriptions"].append(text)

    def _seg_mea(self, seg: RawSegment) -> None:
        dimension, kg = _weight(seg)
        if kg is None:
            return
        if self.context == "gid" and self.goods is not None and dimension in _GROSS:
            self.goods["kg"] = kg
        elif self.context == "eqd" and self.eq is not None and dimension in _GROSS:
            self.eq["eq_kg"] = kg

    def _seg_pia(self, seg: RawSegment) -> None:
        if self.goods is None:
            return
        for index in range(1, len(seg.elements)):
            if seg.component(index, 1).upper() == "HS" and seg.component(index, 0):
                self.goods["hs_codes"].append(seg.component(index, 0))

    def _seg_cst(self, seg: RawSegment) -> None:
        if self.goods is None:
            return
        for index in range(1, len(seg.elements)):
            code = seg.component(index, 0)
            if code.isascii() and code.isdigit() and len(code) >= 4:
                self.goods["hs_codes"].append(code)

    def _seg_dgs(self, seg: RawSegment) -> None:
        if self.goods is not None and seg.component(2, 0):
            self.goods["un_numbers"].append(seg.component(2, 0))

    def _seg_sgp(self, seg: RawSegment) -> None:
        if self.goods is None or self.consignment is None:
            raise _Broken("SGP outside a goods item (GID)")
        number = seg.component(0, 0)
        if not number:
            raise _Broken("SGP without an equipment identification (C237/8260)")
        self.consignment.placements.append(
            {
                "cni": self.consignment.segment.position,
                "gid": self.goods["gid"],
                "container_number": number,
                "sgp_packages": _integer(seg.component(1), "packages"),
            }
        )

    def _seg_eqd(self, seg: RawSegment) -> None:
        if self.message is None:
            raise _Broken("EQD outside a UNH…UNT message")
        self.eq_order += 1
        self.eq = _equipment(seg, self.eq_order)
        self.eq["msg"] = self.message.segment.position
        self.eq["cni"] = self.consignment.segment.position if self.consignment else None
        self.eq["_seg"] = seg
        self.message.values.setdefault("_equipment", []).append(self.eq)
        self.goods = None
        self.context = "eqd"

    def _seg_sel(self, seg: RawSegment) -> None:
        if self.context == "eqd" and self.eq is not None and seg.component(0):
            self.eq["seals"].append(seg.component(0))

    # -- closing groups --------------------------------------------------------------------------
    def _close_consignment(self) -> None:
        c = self.consignment
        if c is None:
            return
        placed = {p["gid"] for p in c.placements}
        own = [
            e["container_number"]
            for e in (self.message.values.get("_equipment", []) if self.message else [])
            if e["cni"] == c.segment.position
        ]
        containers = list(dict.fromkeys([p["container_number"] for p in c.placements] + own))
        for goods in c.goods:
            if goods["gid"] in placed:
                continue
            for number in containers or [None]:
                c.placements.append(
                    {
                        "cni": c.segment.position,
                        "gid": goods["gid"],
                        "container_number": number,
                        "sgp_packages": None,
                    }
                )
        if not c.goods:
            for number in containers or [None]:
                c.placements.append(
                    {
                        "cni": c.segment.position,
                        "gid": None,
                        "container_number": number,
                        "sgp_packages": None,
                    }
                )
        self.consignment = None

    def _flush_message(self) -> None:
        msg = self.message
        if msg is None:
            return
        self._close_consignment()
        header = msg.problems
        defaults = {f"msg_{k}": v for k, v in msg.values.items() if k != "_equipment"}
        for c in msg.consignments:
            problems = c.problems + header  # its own problem first: the most specific
            if problems:
                seg, reason = problems[0]
                where = "consignment" if c.problems else "message"
                bl = c.values.get("bl_number") or "?"
                more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
                self.tables.quarantine.append(
                    (
                        seg.position,
                        seg.tag,
                        f"consignment at segment {c.segment.position} (B/L {bl}) quarantined: "
                        f"{where} segment {seg.position} (line {seg.line}) {seg.tag}: "
                        f"{reason}{more}",
                        seg.text,
                    )
                )
                continue
            self.tables.consignments.append(
                {**defaults, "cni": c.segment.position, "msg": msg.segment.position, **c.values}
            )
            self.tables.goods.extend(c.goods)
            self.tables.placements.extend(c.placements)
        if header and not msg.consignments:
            seg, reason = header[0]
            self.tables.quarantine.append(
                (
                    seg.position,
                    seg.tag,
                    f"message at segment "
                    f"{msg.segment.position}: segment {seg.position} (line "
                    f"{seg.line}) {seg.tag}: {reason}",
                    seg.text,
                )
            )
        if not header:
            good = {c.segment.position for c in msg.consignments if not c.problems}
            for eq in msg.values.get("_equipment", []):
                if eq["cni"] is None or eq["cni"] in good:
                    self.tables.equipment.append({k: v for k, v in eq.items() if k != "_seg"})
        self.message = self.consignment = self.goods = self.eq = None
        self.context = "none"


_HANDLERS = {
    "UNH": _Walker._seg_unh,
    "UNT": _Walker._seg_unt,
    "BGM": _Walker._seg_bgm,
    "DTM": _Walker._seg_dtm,
    "TDT": _Walker._seg_tdt,
    "LOC": _Walker._seg_loc,
    "NAD": _Walker._seg_nad,
    "RFF": _Walker._seg_rff,
    "CNI": _Walker._seg_cni,
    "GID": _Walker._seg_gid,
    "FTX": _Walker._seg_ftx,
    "MEA": _Walker._seg_mea,
    "PIA": _Walker._seg_pia,
    "CST": _Walker._seg_cst,
    "DGS": _Walker._seg_dgs,
    "SGP": _Walker._seg_sgp,
    "EQD": _Walker._seg_eqd,
    "SEL": _Walker._seg_sel,
}
"""Segment tag → reader; tags not listed are parsed and ignored."""


def walk(segments: Iterable[RawSegment]) -> Tables:
    """Walk the segments of one file; return the clean consignments and the quarantine."""
    walker = _Walker()
    for seg in segments:
        walker.feed(seg)
    return walker.finish()
