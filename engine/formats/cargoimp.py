"""IATA Cargo-IMP air waybill messages (FWB, FHL) → canonical air waybill rows.

A Cargo-IMP message is line-oriented text: the first line names the message and its version
(``FWB/16``, ``FHL/4``), then one segment a line, each opened by a three-letter tag
(``FLT``, ``RTG``, ``SHP``, …) and continued on lines that start with ``/``. A file may hold
several messages, each opened by its identifier line. The grammar read here is a subset:

FWB (the master air waybill), one row per message, ``source_line`` = its AWB line::

    176-12345675DXBTAS/T5K120.5MC1.2     AWB, origin, destination, pieces, weight, volume
    FLT/EK0940/27/TK0352/28              flights (designator / day)
    RTG/ISTTK/TASTK                      routing: airport + carrier; all but the last are
                                         transfer airports
    SHP/ACCOUNT  CNE/ACCOUNT  NFY        parties, followed by NAM/ ADR/ LOC/ lines and a
                                         /country/postcode line (account = party id)
    CVD/USD//PP/NVD/50000/XXX            currency, …, value for carriage, value for customs
    RTD/1/P5/K120.5/…                    rate line; its /NG/ /NC/ (goods), /NH/ (HS code),
                                         /NV/MC… (volume) continuation lines are read
    SPH/VAL/PER                          special handling codes
    ISU/27NOV26/DUBAI                    date of issue → filed_at

FHL (the house manifest of a consolidation), one row per house, ``source_line`` = its
``HBS`` line: ``MBI/176-12345675DXBTAS/T5K120.5`` (the master), then per house
``HBS/HAWB/DXBTAS/pieces/Kweight/slac/goods``, with its ``TXT`` (goods text), ``HTS``
(HS code), ``SPH``, ``SHP``, ``CNE`` and ``CVD`` segments.

Other segments (``OCI``, ``OSI``, ``REF``, ``PPD``, …) are valid Cargo-IMP and skipped.
Every segment keeps its line number: a segment of the grammar that does not parse (an AWB
line without origin and destination, a weight code other than K or L, a value that is not a
number, a date that is not ``DDMMMYY``) quarantines its consignment — the FWB message, or
the FHL house, or every house when the FHL's ``MBI`` is broken — with that line, the
segment's text and the reason. A message of another type (``FSU``, ``FFM``, …) is
quarantined whole at its first line. The rest of the file is still read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine._canonical import empty_quarantine
from engine.errors import IngestError, Location
from engine.formats._base import RawChunk
from engine.formats._common import columns_frame, quarantine_frame
from engine.spec import DatasetSpec

LB_TO_KG = 0.45359237

SCHEMA: dict[str, pl.DataType] = {
    "awb_number": pl.String(),
    "house_awb_number": pl.String(),
    "airport_of_origin": pl.String(),
    "transfer_airports": pl.List(pl.String()),
    "airport_of_destination": pl.String(),
    "flights": pl.List(pl.String()),
    "packages": pl.Int64(),
    "gross_weight_kg": pl.Float64(),
    "volume_m3": pl.Float64(),
    "goods_description": pl.String(),
    "hs_code": pl.String(),
    "special_handling_codes": pl.List(pl.String()),
    "shipper_name": pl.String(),
    "shipper_address": pl.String(),
    "shipper_country": pl.String(),
    "shipper_id": pl.String(),
    "consignee_name": pl.String(),
    "consignee_address": pl.String(),
    "consignee_country": pl.String(),
    "consignee_id": pl.String(),
    "notify_name": pl.String(),
    "notify_address": pl.String(),
    "declared_value": pl.Float64(),
    "currency": pl.String(),
    "filed_at": pl.String(),
    "message_type": pl.String(),
}
"""The columns the reader emits: canonical air waybill fields, and ``message_type``."""

_IDENTIFIER = re.compile(r"^(FWB|FHL|[A-Z]{3})/(\d{1,3})\s*$")
_TAG = re.compile(r"^([A-Z]{3})(?:/(.*))?$")
_AWB = re.compile(
    r"^(?P<prefix>\d{3})-?(?P<serial>\d{8})(?P<origin>[A-Z]{3})(?P<dest>[A-Z]{3})"
    r"(?:/T(?P<pieces>\d{1,4})(?P<unit>[A-Z])(?P<weight>\d+(?:\.\d+)?)"
    r"(?:MC(?P<volume>\d+(?:\.\d+)?))?)?\s*$"
)
_FLIGHT = re.compile(r"^[A-Z0-9]{2}[A-Z]?\d{1,4}[A-Z]?$")
_ROUTE = re.compile(r"^([A-Z]{3})([A-Z0-9]{2})?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_DATE = re.compile(r"^(\d{2})([A-Z]{3})(\d{2})$")
_PARTY_TAGS = {"SHP": "shipper", "CNE": "consignee", "NFY": "notify"}
_PARTY_LINES = {"NAM", "ADR", "LOC"}


class _Bad(Exception):
    """A segment of the grammar that does not parse: where, what and why."""

    def __init__(self, line: int, field: str | None, reason: str, raw: str):
        super().__init__(reason)
        self.line, self.field, self.reason, self.raw = line, field, reason, raw


@dataclass
class _Segment:
    tag: str  # three letters, or "" for the AWB/identifier line
    line: int  # 1-based line of the segment's first line in the file
    text: str  # the first line
    more: list[tuple[int, str]] = field(default_factory=list)  # continuation lines
    sub: list[tuple[str, str]] = field(default_factory=list)  # a party's NAM/ADR/LOC lines


@dataclass
class _Message:
    identifier: str
    line: int
    segments: list[_Segment]


def looks_like_cargoimp(head: bytes) -> bool:
    """The first non-blank line is an FWB or FHL message identifier (``FWB/16``)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    first = text.split(b"\n", 1)[0].strip()
    return re.match(rb"^(FWB|FHL)/\d{1,3}$", first) is not None


def _messages(lines: list[str]) -> Iterator[_Message]:
    """Cut the file into messages (at identifier lines) and segments (at tags)."""
    message: _Message | None = None
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n").rstrip()
        if not text.strip():
            continue
        if _IDENTIFIER.match(text):
            if message is not None:
                yield message
            message = _Message(text, number, [])
            continue
        if message is None:
            message = _Message("", number, [])
        if text.startswith("/") and message.segments:
            message.segments[-1].more.append((number, text))
            continue
        tag = _TAG.match(text)
        if tag and not text[:3].isdigit():
            message.segments.append(_Segment(tag.group(1), number, text))
        else:
            message.segments.append(_Segment("", number, text))
    if message is not None:
        yield message


def _fields(text: str) -> list[str]:
    """The ``/``-separated fields after the tag."""
    return text.split("/")[1:]


def _number(value: str, segment: _Segment, name: str) -> float:
    if not _NUMBER.match(value):
        raise _Bad(segment.line, name, f"'{value}' is not a number", segment.text)
    return float(value)


def _awb_line(segment: _Segment, text: str) -> dict[str, Any]:
    match = _AWB.match(text)
    if match is None:
        raise _Bad(
            segment.line,
            "awb_number",
            "not an AWB consignment line (prefix-serial, origin and destination airports, "
            "/T pieces, K or L weight)",
            segment.text,
        )
    out: dict[str, Any] = {
        "awb_number": match["prefix"] + match["serial"],
        "airport_of_origin": match["origin"],
        "airport_of_destination": match["dest"],
    }
    if match["pieces"] is not None:
        out.update(_quantity(segment, int(match["pieces"]), match["unit"], match["weight"]))
    if match["volume"] is not None:
        out["volume_m3"] = float(match["volume"])
    return out


def _quantity(segment: _Segment, pieces: int, unit: str, weight: str) -> dict[str, Any]:
    if unit not in ("K", "L"):
        raise _Bad(
            segment.line,
            "gross_weight_kg",
            f"weight code '{unit}' is neither K (kilograms) nor L (pounds)",
            segment.text,
        )
    kg = _number(weight, segment, "gross_weight_kg") * (1.0 if unit == "K" else LB_TO_KG)
    return {"packages": pieces, "gross_weight_kg": kg}


def _party(segment: _Segment, role: str) -> dict[str, Any]:
    parts = _fields(segment.text)
    out: dict[str, Any] = {}
    if parts and parts[0].strip():
        out[f"{role}_id"] = parts[0].strip()
    names: list[str] = []
    address: list[str] = []
    for kind, text in segment.sub:
        value = text.strip()
        if kind == "NAM":
            names.append(value)
        elif value:
            address.append(value)
    for _, text in segment.more:
        values = [v.strip() for v in _fields("X" + text) if v.strip()]
        if values and len(values[0]) == 2 and values[0].isalpha() and values[0].isupper():
            if role != "notify":
                out[f"{role}_country"] = values[0]
            address.extend(values[1:])
        else:
            (address if names else names).extend(values)
    if names:
        out[f"{role}_name"] = " ".join(names)
    if address:
        out[f"{role}_address"] = ", ".join(address)
    return out


def _value(segment: _Segment) -> dict[str, Any]:
    parts = _fields(segment.text)
    out: dict[str, Any] = {}
    if parts and parts[0].strip():
        out["currency"] = parts[0].strip()
    customs = parts[4].strip() if len(parts) > 4 else ""
    carriage = parts[3].strip() if len(parts) > 3 else ""
    for value in (customs, carriage):
        if value and value not in ("NCV", "NVD", "XXX"):
            out["declared_value"] = _number(value, segment, "declared_value")
            break
    return out


def _issued(segment: _Segment) -> dict[str, Any]:
    parts = _fields(segment.text)
    match = _DATE.match(parts[0].strip()) if parts else None
    try:
        if match is None:
            raise ValueError
        day = datetime.strptime(parts[0].strip().title(), "%d%b%y")
    except ValueError:
        raise _Bad(
            segment.line,
            "filed_at",
            f"date of issue '{parts[0] if parts else ''}' is not DDMMMYY (e.g. 27NOV26)",
            segment.text,
        ) from None
    return {"filed_at": day.strftime("%Y-%m-%dT00:00:00Z")}


def _flights(segment: _Segment) -> list[str]:
    parts = _fields(segment.text)
    flights = [p.strip() for p in parts[0::2] if p.strip()]
    for flight in flights:
        if not _FLIGHT.match(flight):
            raise _Bad(
                segment.line, "flights", f"'{flight}' is not a flight designator", segment.text
            )
    return flights


def _routing(segment: _Segment, destination: str | None) -> list[str]:
    airports: list[str] = []
    for part in _fields(segment.text):
        match = _ROUTE.match(part.strip())
        if match is None:
            raise _Bad(
                segment.line,
                "transfer_airports",
                f"'{part}' is not an airport code followed by a carrier code",
                segment.text,
            )
        airports.append(match.group(1))
    if airports and airports[-1] == destination:
        airports = airports[:-1]
    return airports


def _rate(segment: _Segment, row: dict[str, Any]) -> None:
    for line, text in segment.more:
        body = re.sub(r"^/\d+", "", text)
        parts = _fields("X" + body)
        if len(parts) < 2:
            continue
        kind, value = parts[0].strip(), "/".join(parts[1:]).strip()
        if kind in ("NG", "NC") and value:
            previous = row.get("goods_description")
            row["goods_description"] = f"{previous} {value}" if previous else value
        elif kind == "NH" and value:
            row.setdefault("hs_code", value)
        elif kind == "NV" and value.startswith("MC"):
            bad = _Segment(segment.tag, line, text)
            row.setdefault("volume_m3", _number(value[2:], bad, "volume_m3"))


def _group_parties(segments: list[_Segment]) -> list[_Segment]:
    """Attach NAM/ADR/LOC lines to the party segment before them (as ``sub``)."""
    out: list[_Segment] = []
    for segment in segments:
        if segment.tag in _PARTY_LINES and out and out[-1].tag in _PARTY_TAGS:
            out[-1].sub.append((segment.tag, segment.text[4:]))
            out[-1].more.extend(segment.more)
            continue
        out.append(segment)
    return out


def _common(segment: _Segment, row: dict[str, Any]) -> None:
    """Segments FWB and FHL share."""
    if segment.tag in _PARTY_TAGS:
        row.update(_party(segment, _PARTY_TAGS[segment.tag]))
    elif segment.tag == "CVD":
        row.update(_value(segment))
    elif segment.tag == "SPH":
        codes = [c.strip() for c in _fields(segment.text) if c.strip()]
        row["special_handling_codes"] = [*row.get("special_handling_codes", []), *codes]


def _fwb(message: _Message) -> dict[str, Any]:
    segments = _group_parties(message.segments)
    if not segments or segments[0].tag:
        line = segments[0].line if segments else message.line
        raise _Bad(line, "awb_number", "the FWB has no AWB consignment line", message.identifier)
    row = _awb_line(segments[0], segments[0].text)
    row["message_type"] = message.identifier
    row["_line"] = segments[0].line
    routing: _Segment | None = None
    for segment in segments[1:]:
        if segment.tag == "FLT":
            row["flights"] = [*row.get("flights", []), *_flights(segment)]
        elif segment.tag == "RTG":
            routing = segment
        elif segment.tag == "RTD":
            _rate(segment, row)
        elif segment.tag == "ISU":
            row.update(_issued(segment))
        elif not segment.tag:
            raise _Bad(segment.line, None, "a line that is no Cargo-IMP segment", segment.text)
        else:
            _common(segment, row)
    if routing is not None:
        row["transfer_airports"] = _routing(routing, row["airport_of_destination"])
    return row


def _house(segment: _Segment, master: dict[str, Any]) -> dict[str, Any]:
    parts = [p.strip() for p in _fields(segment.text)]
    if len(parts) < 4 or not parts[0] or not re.match(r"^[A-Z]{6}$", parts[1]):
        raise _Bad(
            segment.line,
            "house_awb_number",
            "HBS needs /house number/origin+destination/pieces/weight",
            segment.text,
        )
    row = {**master, "house_awb_number": parts[0]}
    row["airport_of_origin"], row["airport_of_destination"] = parts[1][:3], parts[1][3:]
    weight = parts[3]
    if not weight or not weight[0].isalpha():
        raise _Bad(
            segment.line, "gross_weight_kg", f"weight '{weight}' lacks its K/L code", segment.text
        )
    if not parts[2].isdigit():
        raise _Bad(segment.line, "packages", f"pieces '{parts[2]}' is not a number", segment.text)
    row.update(_quantity(segment, int(parts[2]), weight[0], weight[1:]))
    if len(parts) > 5 and parts[5]:
        row["goods_description"] = parts[5]
    return row


def _fhl(message: _Message) -> tuple[list[dict[str, Any]], list[_Bad]]:
    segments = _group_parties(message.segments)
    mbi = next((s for s in segments if s.tag == "MBI"), None)
    houses = [s for s in segments if s.tag == "HBS"]
    if mbi is None:
        raise _Bad(
            message.line,
            "awb_number",
            "the FHL has no MBI (master AWB) segment",
            message.identifier,
        )
    master_fields = _awb_line(mbi, "/".join(_fields(mbi.text)))
    master = {
        "awb_number": master_fields["awb_number"],
        "message_type": message.identifier,
    }
    rows: list[dict[str, Any]] = []
    bad: list[_Bad] = []
    current: dict[str, Any] | None = None
    failed = False
    for segment in segments:
        try:
            if segment.tag == "HBS":
                if current is not None and not failed:
                    rows.append(current)
                failed = False
                current = _house(segment, master)
                current["_line"] = segment.line
            elif segment.tag == "MBI" or current is None or failed:
                continue
            elif segment.tag == "TXT":
                text = " ".join([*_fields(segment.text), *(t.lstrip("/") for _, t in segment.more)])
                if text.strip():
                    current["goods_description"] = text.strip()
            elif segment.tag == "HTS":
                codes = [c.strip() for c in _fields(segment.text) if c.strip()]
                if codes:
                    current["hs_code"] = codes[0]
            elif not segment.tag:
                raise _Bad(segment.line, None, "a line that is no Cargo-IMP segment", segment.text)
            else:
                _common(segment, current)
        except _Bad as err:
            bad.append(err)
            failed = True
            if segment.tag == "HBS":
                current = None
    if current is not None and not failed:
        rows.append(current)
    if not houses:
        bad.append(
            _Bad(
                message.line, "house_awb_number", "the FHL lists no house (HBS)", message.identifier
            )
        )
    return rows, bad


def read_cargoimp_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """Read FWB/FHL messages into raw chunks of canonical-named columns (see module doc)."""
    try:
        text = path.read_text(encoding=spec.csv.encoding, errors="strict")
    except UnicodeDecodeError as err:
        raise IngestError(
            f"Cargo-IMP text is not {spec.csv.encoding}: byte {err.start} ({err.reason})",
            location=Location(file=str(path)),
            hint="Cargo-IMP messages are ASCII; re-export the file as UTF-8",
        ) from None
    rows: list[dict[str, Any]] = []
    bad: list[_Bad] = []
    for message in _messages(text.splitlines()):
        kind = message.identifier.split("/", 1)[0]
        try:
            if kind == "FWB":
                rows.append(_fwb(message))
            elif kind == "FHL":
                houses, broken = _fhl(message)
                rows.extend(houses)
                bad.extend(broken)
            else:
                raise _Bad(
                    message.line,
                    None,
                    f"message '{message.identifier or message.segments[0].text}' is not an FWB"
                    " or FHL (only air waybills and house manifests are read)",
                    message.identifier or message.segments[0].text,
                )
        except _Bad as err:
            bad.append(err)
    quarantine = (
        quarantine_frame(
            str(path),
            [b.line for b in bad],
            [b.field for b in bad],
            [f"line {b.line}: {b.reason}" for b in bad],
            [b.raw for b in bad],
        )
        if bad
        else empty_quarantine()
    )
    if not rows:
        yield RawChunk(pl.DataFrame(), np.empty(0, dtype=np.int64), quarantine)
        return
    for start in range(0, len(rows), chunk_rows):
        part = rows[start : start + chunk_rows]
        lines = np.asarray([r["_line"] for r in part], dtype=np.int64)
        frame = columns_frame(part, SCHEMA)
        yield RawChunk(frame, lines, quarantine if start == 0 else empty_quarantine())
