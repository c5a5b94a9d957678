"""A case note and its proposed rule, shared by the case-note tests."""

from __future__ import annotations

from typing import Any

# Hits the reefers of tests/api/_manifests.rows (45R1, HS 080390, loaded at ECGYE).
PROPOSAL = """\
# The Poti seizure of 2026-11-20: cocaine in the evaporator of banana reefers.
kind: list
name: poti_case_source_ports
type: locode
description: Loading ports of the reefers seized at Poti
items: [ECGYE, ECPBO, COTRB]
---
kind: rule
id: banana-reefer-from-poti-case-ports
title: Banana reefer loaded at a port of the Poti case
description: >
  Reefers of bananas (HS 0803) loaded at a port from which the reefers seized at Poti in
  November 2026 came; the cocaine was in the evaporator housing.
status: active
severity: high
weight: 30
owner: ge-pti-intel
references: ["case note of GE-PTI-PCU, 2026-11-20"]
reason: "banana reefer loaded at {port_of_loading} (Poti case pattern)"
match:
  reefer: {iso_type|re: '^..R'}
  bananas: {hs_code|startswith: 0803}
  port: {port_of_loading|in: $poti_case_source_ports}
  condition: reefer and bananas and port
tests:
  - {expect: hit, row: {iso_type: 45R1, hs_code: "080390", port_of_loading: ECGYE}}
  - {expect: no_hit, row: {iso_type: 22G1, hs_code: "080390", port_of_loading: ECGYE}}
"""
RULE_ID = "banana-reefer-from-poti-case-ports"
# The same with a misspelt field at line 23, column 10.
BROKEN = PROPOSAL.replace("port: {port_of_loading|in", "port: {port_of_lodaing|in")
MASKED_NAME = "Tropical Fruit Import LLC"


def note_body(to: list[str], *, rule: str | None = PROPOSAL) -> dict[str, Any]:
    """The body of ``POST /v1/casenotes`` (and of ``CaseNoteCreate``)."""
    body: dict[str, Any] = {
        "to": to,
        "title": "Cocaine in the evaporator housing of banana reefers",
        "finding_type": "drugs",
        "finding": "212 kg cocaine hydrochloride in 180 bricks",
        "location": "GEPTI",
        "location_name": "Poti container terminal",
        "found_on": "2026-11-20",
        "mode": "sea",
        "route": ["ECGYE", "PAMIT", "TRMER", "GEPTI"],
        "concealment": "bricks behind the evaporator panel of 40' reefers",
        "containers": ["MSCU 100000-1"],
        "parties": [
            {"role": "shipper", "name": "Exportadora del Pacifico S.A.", "country": "EC"},
            {"role": "consignee", "name": MASKED_NAME, "country": "UZ", "mask": True},
        ],
        "narrative": "Three reefers on one B/L; the consignee was registered three weeks earlier.",
    }
    if rule is not None:
        body["rule"] = {"file": "poti-case.yaml", "yaml": rule}
    return body
