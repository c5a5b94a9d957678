"""DCSA eBL 3.0 extraction: one parsed document → rows of long tables (documents, equipment,
cargo items). Only extraction happens here; conversions and aggregation are polars
expressions in ``engine.formats.dcsa``.

A walk in Python because DCSA documents are nested, variant-shaped JSON (equipment inline
or under ``equipment``, descriptions as a list or a string) that no columnar reader can
flatten without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_FREIGHT = {"PRE": "prepaid", "COL": "collect"}


@dataclass
class Tables:
    docs: list[dict[str, Any]] = field(default_factory=list)
    equipment: list[dict[str, Any]] = field(default_factory=list)
    cargo: list[dict[str, Any]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.equipment) + len(self.cargo)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _texts(value: Any) -> list[str]:
    """A string or a list of strings (DCSA uses both for descriptions) → list of strings."""
    items = value if isinstance(value, list) else [value]
    return [t for t in (_text(v) for v in items) if t]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _location(value: Any) -> str | None:
    """UN/LOCODE of a DCSA location (``UNLocationCode`` directly or under ``location``)."""
    loc = _dict(value)
    return _text(loc.get("UNLocationCode")) or _text(
        _dict(loc.get("location")).get("UNLocationCode")
    )


def _address(party: dict[str, Any]) -> tuple[str | None, str | None]:
    addr = _dict(party.get("address"))
    parts = [
        _text(addr.get(k))
        for k in (
            "street",
            "streetNumber",
            "floor",
            "POBox",
            "postCode",
            "city",
            "stateRegion",
            "countryCode",
        )
    ]
    text = ", ".join(p for p in parts if p)
    return (text or None), _text(addr.get("countryCode"))


def _party_id(party: dict[str, Any]) -> str | None:
    # A tax or EORI reference names the legal entity; fall back to the first party code.
    for ref in _list(party.get("taxLegalReferences")):
        value = _text(_dict(ref).get("value"))
        if value:
            return value
    for code in _list(party.get("identifyingCodes")):
        value = _text(_dict(code).get("partyCode"))
        if value:
            return value
    return None


def _parties(doc: dict[str, Any]) -> dict[str, Any]:
    parties = _dict(doc.get("documentParties"))
    out: dict[str, Any] = {}
    for role, key in (("shipper", "shipper"), ("consignee", "consignee")):
        party = _dict(parties.get(key))
        address, country = _address(party)
        out[f"{role}_name"] = _text(party.get("partyName"))
        out[f"{role}_address"] = address
        out[f"{role}_country"] = country
        out[f"{role}_id"] = _party_id(party)
    notify = [_dict(p) for p in _list(parties.get("notifyParties"))]
    if not notify and isinstance(parties.get("notifyParty"), dict):
        notify = [parties["notifyParty"]]
    out["notify_name"] = (
        "; ".join(n for n in (_text(p.get("partyName")) for p in notify) if n) or None
    )
    out["notify_address"] = "; ".join(a for a in (_address(p)[0] for p in notify) if a) or None
    return out


def _bl_number(doc: dict[str, Any]) -> tuple[str | None, str | None]:
    """The document's key: B/L number, else SI reference, else the first booking reference."""
    for key in ("transportDocumentReference", "shippingInstructionsReference"):
        value = _text(doc.get(key))
        if value:
            return value, key
    for item in _list(doc.get("consignmentItems")):
        value = _text(_dict(item).get("carrierBookingReference"))
        if value:
            return value, "carrierBookingReference"
    value = _text(doc.get("carrierBookingReference"))
    return (value, "carrierBookingReference") if value else (None, None)


def _document_row(doc: dict[str, Any], position: int) -> dict[str, Any]:
    transports = _dict(doc.get("transports"))
    voyages = [_dict(v) for v in _list(transports.get("vesselVoyages"))]
    if not voyages and transports.get("vesselVoyage"):
        voyages = [_dict(transports.get("vesselVoyage"))]
    first = voyages[0] if voyages else {}
    provider = (_text(doc.get("carrierCodeListProvider")) or "").upper()
    carrier = _text(doc.get("carrierCode"))
    bl_number, source = _bl_number(doc)
    is_td = "transportDocumentReference" in doc or "transports" in doc
    to_order = doc.get("isToOrder")
    return {
        "doc": position,
        "bl_number": bl_number,
        "bl_number_source": source,
        "dcsa_document_kind": "transport_document" if is_td else "shipping_instructions",
        "transport_document_type": _text(doc.get("transportDocumentTypeCode")),
        "bl_type": None
        if not isinstance(to_order, bool)
        else ("to_order" if to_order else "straight"),
        "freight_terms": _FREIGHT.get(_text(doc.get("freightPaymentTermCode")) or ""),
        "filed_at": _text(doc.get("issueDate"))
        or _text(doc.get("shippedOnBoardDate"))
        or _text(doc.get("receivedForShipmentDate")),
        "fcl_lcl": _text(doc.get("cargoMovementTypeAtOrigin")),
        "place_of_receipt": _location(transports.get("placeOfReceipt")),
        "port_of_loading": _location(transports.get("portOfLoading")),
        "port_of_discharge": _location(transports.get("portOfDischarge")),
        "place_of_delivery": _location(transports.get("placeOfDelivery")),
        "departed_at": _text(transports.get("plannedDepartureDate"))
        or _text(doc.get("shippedOnBoardDate")),
        "arrival_eta": _text(transports.get("plannedArrivalDate")),
        "vessel_name": _text(first.get("vesselName")),
        "vessel_imo": _text(first.get("vesselIMONumber")),
        "voyage": _text(first.get("carrierExportVoyageNumber"))
        or _text(first.get("universalExportVoyageReference")),
        "carrier_scac": carrier if provider == "NMFTA" else None,
        "carrier_code": f"{provider}:{carrier}" if carrier and provider else carrier,
        **_parties(doc),
    }


def _equipment_rows(
    doc: dict[str, Any], position: int, house: bool, out: list[dict[str, Any]]
) -> None:
    for order, ute in enumerate(_list(doc.get("utilizedTransportEquipments"))):
        ute = _dict(ute)
        eq = _dict(ute.get("equipment")) or ute  # 3.0 TDs nest it; SIs put it inline
        weight = ute.get("cargoGrossWeight")
        value, unit = (
            (weight.get("value"), weight.get("unit"))
            if isinstance(weight, dict)
            else (weight, ute.get("cargoGrossWeightUnit"))
        )
        empty = _text(ute.get("emptyIndicatorCode"))
        out.append(
            {
                "doc": position,
                "order": order,
                "house": house,
                "container_number": _text(eq.get("equipmentReference"))
                or _text(ute.get("equipmentReference")),
                "iso_type": _text(eq.get("ISOEquipmentCode")) or _text(ute.get("ISOEquipmentCode")),
                "seals": [
                    s for s in (_text(_dict(x).get("number")) for x in _list(ute.get("seals"))) if s
                ],
                "is_empty": None if empty is None else empty.upper() == "EMPTY",
                "shipper_owned": ute.get("isShipperOwned")
                if isinstance(ute.get("isShipperOwned"), bool)
                else None,
                "ute_weight": _number(value),
                "ute_unit": _text(unit),
            }
        )


def _whole(value: Any) -> int | None:
    """A package count: an integer, or text holding one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = _text(value)
    return int(text) if text is not None and text.isascii() and text.isdigit() else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _cargo_rows(items: Any, position: int, house_bl: str | None, out: list[dict[str, Any]]) -> None:
    for i, item in enumerate(_list(items)):
        item = _dict(item)
        hs = _texts(item.get("HSCodes"))
        descriptions = _texts(item.get("descriptionOfGoods"))
        for j, cargo in enumerate(_list(item.get("cargoItems"))):
            cargo = _dict(cargo)
            weight = _dict(cargo.get("cargoGrossWeight"))
            packaging = _dict(cargo.get("outerPackaging"))
            dg = [_dict(d) for d in _list(packaging.get("dangerousGoods"))]
            un = [t for d in dg for t in (_text(d.get("UNNumber")), _text(d.get("NANumber"))) if t]
            out.append(
                {
                    "doc": position,
                    "item": i + 1,
                    "cargo": j + 1,
                    "house_bl": house_bl,
                    "container_number": _text(cargo.get("equipmentReference")),
                    "hs_codes": hs,
                    "descriptions": descriptions,
                    "packages": _whole(packaging.get("numberOfPackages")),
                    "package_type": _text(packaging.get("packageCode"))
                    or _text(packaging.get("description")),
                    # As text: polars converts it, and a value that is not a number is reported.
                    "weight": None if weight.get("value") is None else str(weight.get("value")),
                    "unit": _text(weight.get("unit")),
                    "un_numbers": un,
                }
            )


def extract(doc: dict[str, Any], position: int, tables: Tables) -> None:
    tables.docs.append(_document_row(doc, position))
    _equipment_rows(doc, position, False, tables.equipment)
    _cargo_rows(doc.get("consignmentItems"), position, None, tables.cargo)
    for house in _list(doc.get("houseBillOfLadings")):
        house = _dict(house)
        ref = _text(house.get("houseBillOfLadingReference"))
        _equipment_rows(house, position, True, tables.equipment)
        _cargo_rows(house.get("consignmentItems"), position, ref or "", tables.cargo)
