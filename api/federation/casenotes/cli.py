"""``lookout casenotes ...``: send, list, show case notes; backtest, adopt or decline a rule.

Like ``lookout queries``, these talk to the local unit's HTTP API (``--url``/``LOOKOUT_URL``,
``--api-key``/``LOOKOUT_API_KEY``), so roles and audit apply as for any client: sending needs
an analyst key, backtest/adopt/decline a rule_author key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from api.federation._client import ApiKey, AsJson, Url, call, fail

casenotes_app = typer.Typer(
    help="Case notes (modus operandi and proposed rules) to and from partner units.",
    no_args_is_help=True,
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _party(text: str, mask: bool) -> dict[str, Any]:
    """``ROLE:NAME[:COUNTRY]`` as a party of the request."""
    role, sep, rest = text.partition(":")
    if not sep or not rest.strip():
        raise fail(f"party {text!r}: write ROLE:NAME[:COUNTRY], e.g. consignee:ACME LLC:UZ", 2)
    name, country = rest, None
    head, _, tail = rest.rpartition(":")
    if head and _COUNTRY.match(tail):
        name, country = head, tail
    return {"role": role.strip(), "name": name.strip(), "country": country, "mask": mask}


def _print_note(note: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(note, indent=2, ensure_ascii=False))
        return
    typer.echo(note["id"])
    typer.echo(
        f"  {note['box']} from {note['origin_unit']}  {note['finding_type']} at "
        f"{note['location']} on {note['found_on']}  ({note['mode']})  status {note['status']}"
    )
    typer.echo(f"  title: {note['title']}")
    if note.get("route"):
        typer.echo(f"  route: {' > '.join(note['route'])}")
    if note.get("concealment"):
        typer.echo(f"  concealment: {note['concealment']}")
    if note.get("containers"):
        typer.echo(f"  containers: {', '.join(note['containers'])}")
    local = note.get("parties_local") or [None] * len(note.get("parties", []))
    for party, own in zip(note.get("parties", []), local, strict=False):
        shown = own or party
        masked = ""
        if party["masked"]:
            masked = f"  (sent masked as {party['name']})" if own else "  (masked)"
        typer.echo(f"  {party['role']}: {shown['name']} {party.get('country') or ''}{masked}")
    if note.get("rule_file"):
        verdict = "loads here" if note["rule_valid"] else "DOES NOT LOAD here"
        typer.echo(f"  rule: {note['rule_file']} ({', '.join(note['rule_ids'])}) {verdict}")
        for diagnostic in note.get("rule_diagnostics", []):
            typer.echo("    " + diagnostic["rendered"].replace("\n", "\n    "))
    for rec in note["recipients"]:
        extra = (
            f"  ({rec['pending']} pending: {rec['last_error'] or 'queued'})"
            if rec.get("pending")
            else ""
        )
        decided = f" by {rec['decided_by']}" if rec.get("decided_by") else ""
        rules = f" [{', '.join(rec['adopted_rules'])}]" if rec.get("adopted_rules") else ""
        said = f": {rec['decision_note']}" if rec.get("decision_note") else ""
        typer.echo(f"  → {rec['unit_id']}: {rec['state']}{decided}{rules}{said}{extra}")
    for run in note.get("backtests", [])[:1]:
        _print_backtest(run)


def _fmt(value: Any, pattern: str = "{:.2f}") -> str:
    return "—" if value is None else pattern.format(value)


def _print_backtest(run: dict[str, Any]) -> None:
    report, totals = run["report"], run["report"]["totals"]
    typer.echo(
        f"  backtest {run['id']} by {run['run_by']} at {run['run_at']}: {totals['rows']} rows "
        f"in {totals['batches']} batch(es) over {totals['days']} day(s), {totals['inspected']} "
        f"inspected, {totals['positives']} positive"
    )
    typer.echo(
        f"    {'rule':<34} {'hits':>5} {'/day':>6} {'inspected':>9} {'positive':>8} "
        f"{'precision':>9} {'lift':>5}  top overlap"
    )
    for r in report["rules"]:
        overlap = (
            f"{r['top_overlap']} ({_fmt(r['top_overlap_share'], '{:.0%}')})"
            if r["top_overlap"]
            else "—"
        )
        typer.echo(
            f"    {r['rule']:<34} {r['hits']:>5} {_fmt(r['hits_per_day']):>6} "
            f"{r['inspected_hits']:>9} {r['positives']:>8} {_fmt(r['precision']):>9} "
            f"{_fmt(r['lift'], '{:.1f}'):>5}  {overlap}"
        )
    for skipped in report.get("skipped", []):
        typer.echo(f"    {skipped['id']}: not applicable here ({skipped['reason']})")


@casenotes_app.command("send")
def send(
    to: Annotated[list[str], typer.Option("--to", help="unit id or group (IREN, all-trusted)")],
    title: Annotated[str, typer.Option(help="one line: what happened")],
    finding_type: Annotated[str, typer.Option("--finding-type", help="drugs, precursors, ...")],
    finding: Annotated[str, typer.Option(help="what was found and how much")],
    location: Annotated[str, typer.Option(help="where: UN/LOCODE or IATA airport code")],
    found_on: Annotated[str, typer.Option("--found-on", help="date, YYYY-MM-DD")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    location_name: Annotated[str, typer.Option("--location-name", help="e.g. terminal")] = "",
    mode: Annotated[str, typer.Option(help="sea, air, rail or road")] = "sea",
    route: Annotated[
        list[str] | None, typer.Option(help="port or airport on the route, in order; repeatable")
    ] = None,
    concealment: Annotated[str, typer.Option(help="how it was hidden")] = "",
    container: Annotated[list[str] | None, typer.Option(help="container; repeatable")] = None,
    party: Annotated[
        list[str] | None, typer.Option(help="ROLE:NAME[:COUNTRY], sent as written; repeatable")
    ] = None,
    masked_party: Annotated[
        list[str] | None,
        typer.Option("--masked-party", help="ROLE:NAME[:COUNTRY], sent as a keyed token"),
    ] = None,
    narrative: Annotated[str, typer.Option(help="free text: the case in your words")] = "",
    rule: Annotated[
        Path | None, typer.Option(help="YAML file of the proposed rule(s), lists and macros")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Send a case note; prints its id first. A proposed rule that does not load (or fails
    its own tests) is refused with every problem at file:line:col, and nothing is sent."""
    body: dict[str, Any] = {
        "to": to,
        "title": title,
        "finding_type": finding_type,
        "finding": finding,
        "location": location,
        "location_name": location_name,
        "found_on": found_on,
        "mode": mode,
        "route": route or [],
        "concealment": concealment,
        "containers": container or [],
        "parties": [_party(p, False) for p in party or []]
        + [_party(p, True) for p in masked_party or []],
        "narrative": narrative,
    }
    if rule is not None:
        try:
            text = rule.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise fail(f"{rule}: cannot read the rule file ({err})", 2) from err
        body["rule"] = {"file": rule.name, "yaml": text}
    _print_note(call(url, api_key, "POST", "/v1/casenotes", json=body), as_json)


@casenotes_app.command("list")
def list_notes(
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    box: Annotated[str | None, typer.Option(help="inbox or outbox")] = None,
    status: Annotated[str | None, typer.Option(help="sent, delivered or decided")] = None,
    as_json: AsJson = False,
) -> None:
    """List case notes, newest first (id, box, status, finding, rule, recipients)."""
    params = {k: v for k, v in {"box": box, "status": status}.items() if v}
    page = call(url, api_key, "GET", "/v1/casenotes", params={**params, "limit": 500})
    if as_json:
        typer.echo(json.dumps(page, indent=2, ensure_ascii=False))
        return
    for n in page["data"]:
        recipients = " ".join(f"{r['unit_id']}={r['state']}" for r in n["recipients"])
        rule = "rule" if n["has_rule"] else "-"
        typer.echo(
            f"{n['id']}  {n['box']:<6} {n['status']:<9} {n['finding_type']:<10} "
            f"{n['location']:<5} {rule:<4}  {recipients}"
        )
    typer.echo(f"{page['count']} case note(s)", err=True)


@casenotes_app.command("show")
def show(
    note_id: str, url: Url = "http://127.0.0.1:8000", api_key: ApiKey = "", as_json: AsJson = False
) -> None:
    """Show a case note, its rule check, each recipient's state and the latest backtest."""
    _print_note(call(url, api_key, "GET", f"/v1/casenotes/{note_id}"), as_json)


@casenotes_app.command("backtest")
def backtest(
    note_id: str, url: Url = "http://127.0.0.1:8000", api_key: ApiKey = "", as_json: AsJson = False
) -> None:
    """Backtest a received note's rule on this unit's history (rule_author)."""
    run = call(url, api_key, "POST", f"/v1/casenotes/{note_id}/backtest", timeout=900)
    if as_json:
        typer.echo(json.dumps(run, indent=2, ensure_ascii=False))
        return
    _print_backtest(run)


@casenotes_app.command("adopt")
def adopt(
    note_id: str,
    note: Annotated[str, typer.Option(help="optional note to the sender")] = "",
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    as_json: AsJson = False,
) -> None:
    """Adopt a received note's rule into this unit's pack in shadow (rule_author)."""
    path = f"/v1/casenotes/{note_id}/adopt"
    _print_note(call(url, api_key, "POST", path, json={"note": note}), as_json)


@casenotes_app.command("decline")
def decline(
    note_id: str,
    note: Annotated[str, typer.Option(help="why, for the sender")] = "",
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    as_json: AsJson = False,
) -> None:
    """Decline a received note's rule (rule_author); the sender is told."""
    path = f"/v1/casenotes/{note_id}/decline"
    _print_note(call(url, api_key, "POST", path, json={"note": note}), as_json)
