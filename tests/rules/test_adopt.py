"""A partner's proposed rules: the proposal check, and adoption into adopted.yaml in shadow."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import (
    ADOPTED_FILE,
    DEFAULT_PACK,
    AdoptionConflict,
    adopt_proposal,
    check_proposal,
    load_pack,
    load_pack_text,
)
from rules._loader import pack_files
from tests.federation._casenote import BROKEN, PROPOSAL, RULE_ID

PROVENANCE = {
    "source_unit": "UZ-TAS-PCU",
    "case_note": "01JDXCASE0000000000000000A-UZ-TAS-PCU",
    "adopted_by": "3de5d2502011",
    "adopted_at": "2026-11-28T10:00:00.000000Z",
}


def shipped() -> dict[str, str]:
    return {p.name: p.read_text() for p in pack_files(Path(DEFAULT_PACK))}


def test_a_good_proposal_loads_and_its_tests_run() -> None:
    check = check_proposal(PROPOSAL, file="poti-case.yaml")
    assert check.valid and check.rule_ids == [RULE_ID] and check.tests_run == 2


@pytest.mark.parametrize(
    "text, where, message",
    [
        (BROKEN, (23, 10), "unknown field 'port_of_lodaing'"),
        (
            PROPOSAL.replace(
                "owner: ge-pti-intel", "owner: ge-pti-intel\nprovenance: {source_unit: XX-YYY-PCU}"
            ),
            (18, 1),
            "cannot carry 'provenance'",
        ),
        (PROPOSAL.replace("status: active", "status: retired"), (8, 1), "is retired"),
        (
            PROPOSAL.replace(
                "{expect: no_hit, row: {iso_type: 22G1", "{expect: hit, row: {iso_type: 22G1"
            ),
            (27, 5),
            "expected hit, got no_hit",
        ),
        ("%YAML 1.1\n---\n" + PROPOSAL, (1, 1), "directives"),
        ("kind: list\nname: x\nitems: [A]\n", (1, 1), "has no rule"),
        (PROPOSAL + "#" * 70_000, (1, 1), "limited to 64 KiB"),
    ],
)
def test_a_bad_proposal_says_where(text: str, where: tuple[int, int], message: str) -> None:
    check = check_proposal(text, file="poti-case.yaml")
    assert not check.valid
    first = check.errors[0]
    assert ((first.line, first.col), first.file) == (where, "poti-case.yaml"), first.render()
    assert message in first.message


def test_adoption_writes_adopted_yaml_in_shadow_and_leaves_the_shipped_files() -> None:
    files = shipped()
    adoption = adopt_proposal(files, PROPOSAL, provenance=PROVENANCE)
    assert adoption.rule_ids == [RULE_ID] and adoption.reused == []
    assert {n: t for n, t in adoption.files.items() if n != ADOPTED_FILE} == files
    text = adoption.files[ADOPTED_FILE]
    assert text.startswith("# adopted from UZ-TAS-PCU, case note 01JDXCASE")
    assert "status: experimental" in text and "status: active" not in text
    assert "hs_code|startswith: 0803" in text  # the source form survives (not octal 0803)
    assert "# The Poti seizure of 2026-11-20" in text  # and the author's comments
    pack = load_pack_text(text, file=ADOPTED_FILE)
    rule = pack.rule(RULE_ID)
    assert rule.status == "experimental"
    assert dict(rule.provenance) == PROVENANCE
    assert adoption.rule_count == len(load_pack(DEFAULT_PACK).rules) + 1


def test_a_second_adoption_appends_and_identical_lists_are_reused() -> None:
    first = adopt_proposal(shipped(), PROPOSAL, provenance=PROVENANCE)
    ports = load_pack(DEFAULT_PACK).lists["cocaine_source_ports"]
    reusing = PROPOSAL.replace("poti_case_source_ports", "cocaine_source_ports").replace(
        "items: [ECGYE, ECPBO, COTRB]", f"items: [{', '.join(reversed(ports.items))}]"
    )
    reusing = reusing.replace(RULE_ID, "second-rule")
    second = adopt_proposal(first.files, reusing, provenance=PROVENANCE)
    assert second.reused == ["list cocaine_source_ports"]
    assert second.files[ADOPTED_FILE].startswith(first.files[ADOPTED_FILE].rstrip("\n"))
    assert "identical to this unit's own, which is used" in second.files[ADOPTED_FILE]
    ids = [
        r.id for r in load_pack_text(second.files[ADOPTED_FILE].split("---\n# adopted", 1)[0]).rules
    ]
    assert ids == [RULE_ID]


def test_conflicts_are_refused_not_overwritten() -> None:
    files = shipped()
    with pytest.raises(AdoptionConflict, match="already has a rule 'reefer-from-cocaine-source'"):
        adopt_proposal(
            files, PROPOSAL.replace(RULE_ID, "reefer-from-cocaine-source"), provenance=PROVENANCE
        )
    clash = PROPOSAL.replace("poti_case_source_ports", "cocaine_source_ports")
    with pytest.raises(AdoptionConflict, match="list 'cocaine_source_ports' differs") as err:
        adopt_proposal(files, clash, provenance=PROVENANCE)
    assert "COTRB" in err.value.message and "lacks" in err.value.message
    with pytest.raises(AdoptionConflict, match="unknown field"):
        adopt_proposal(files, BROKEN, provenance=PROVENANCE)


def test_flow_style_and_explicit_document_markers_are_adopted() -> None:
    flow = (
        "---\n{kind: rule, id: flow-rule, title: t, description: d, status: active,"
        " severity: low, weight: 5, owner: o, match: {a: {is_reefer: true}, condition: a}}\n...\n"
    )
    first = adopt_proposal(shipped(), flow, provenance=PROVENANCE)
    second = adopt_proposal(first.files, PROPOSAL, provenance=PROVENANCE)
    pack = load_pack_text(second.files[ADOPTED_FILE], file=ADOPTED_FILE)
    assert [(r.id, r.status) for r in pack.rules] == [
        ("flow-rule", "experimental"),
        (RULE_ID, "experimental"),
    ]
    assert all(dict(r.provenance)["source_unit"] == "UZ-TAS-PCU" for r in pack.rules)
