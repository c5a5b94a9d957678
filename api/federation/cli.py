"""``lookout unit ...`` (identity, keys, partners) and ``lookout queries ...`` (urgent queries).

``unit`` commands work on the local unit folder; ``queries`` commands talk to the local
unit's HTTP API (``--url``/``LOOKOUT_URL``, ``--api-key``/``LOOKOUT_API_KEY``), so roles and
audit apply exactly as for any other client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from api.federation._client import ApiKey, AsJson, Url, call, fail
from api.federation.casenotes.cli import casenotes_app
from api.federation.config import FederationSettings
from api.federation.directory import check_group_name, parse_directory, parse_directory_file
from api.federation.errors import FederationError
from api.federation.keys import init_unit, load_unit

unit_app = typer.Typer(
    help="This unit's identity, key pair and partner directory.", no_args_is_help=True
)
queries_app = typer.Typer(help="Urgent queries to and from partner units.", no_args_is_help=True)

UnitDir = Annotated[
    Path | None,
    typer.Option("--dir", help="unit folder (default: LOOKOUT_FED_UNIT_DIR or <data_dir>/unit)"),
]


def _unit_dir(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    from api.settings import Settings

    # model_validate reads the environment like Settings() (and keeps mypy's field check quiet).
    return FederationSettings().resolved_unit_dir(Settings.model_validate({}).data_dir)


@unit_app.command("init")
def unit_init(
    unit_id: Annotated[str, typer.Option("--unit-id", help="e.g. UZ-TAS-PCU")],
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-2 code, e.g. UZ")],
    name: Annotated[str, typer.Option(help="human name of the unit")],
    base_url: Annotated[str, typer.Option("--base-url", help="URL partners reach this unit at")],
    unit_dir: UnitDir = None,
    force: Annotated[bool, typer.Option(help="replace an existing key pair")] = False,
) -> None:
    """Generate the unit's Ed25519 key pair (private key 0600) and write unit.yaml."""
    folder = _unit_dir(unit_dir)
    try:
        identity = init_unit(
            folder, unit_id=unit_id, country=country, name=name, base_url=base_url, force=force
        )
    except FederationError as err:
        raise fail(str(err), 2) from err
    typer.echo(f"unit {identity.unit_id} initialised in {folder}", err=True)
    typer.echo(yaml.safe_dump(identity.directory_entry(), sort_keys=False), nl=False)


@unit_app.command("show")
def unit_show(unit_dir: UnitDir = None) -> None:
    """Print this unit's public directory entry (give it to partners) and its partners."""
    folder = _unit_dir(unit_dir)
    try:
        identity = load_unit(folder)
    except FederationError as err:
        raise fail(str(err), 2) from err
    typer.echo(yaml.safe_dump(identity.directory_entry(), sort_keys=False), nl=False)
    directory = FederationSettings(unit_dir=folder).resolved_directory(folder.parent)
    if directory.is_file():
        found = parse_directory_file(directory, directory.read_text(), self_id=identity.unit_id)
        partners = ", ".join(sorted(found.partners)) or "none"
        typer.echo(f"# partners ({directory}): {partners}", err=True)
        for group, units in sorted(found.groups.items()):
            typer.echo(f"# group {group}: {', '.join(units)}", err=True)


def _self_id(folder: Path) -> str | None:
    try:
        return load_unit(folder).unit_id
    except FederationError:
        return None


def _directory_path(folder: Path, directory: Path | None) -> Path:
    return directory or FederationSettings(unit_dir=folder).resolved_directory(folder.parent)


def _write_directory(target: Path, document: dict[str, Any], self_id: str | None) -> None:
    """Validate the whole directory document, then write it (nothing is written on error)."""
    text = yaml.safe_dump(document, sort_keys=False)
    parse_directory_file(target, text, self_id=self_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


@unit_app.command("trust")
def unit_trust(
    entry: Annotated[Path, typer.Argument(help="a partner's `lookout unit show` output (YAML)")],
    unit_dir: UnitDir = None,
    directory: Annotated[Path | None, typer.Option(help="partner directory file")] = None,
) -> None:
    """Add (or update) a partner in the directory; the server re-reads it automatically."""
    folder = _unit_dir(unit_dir)
    target = _directory_path(folder, directory)
    try:
        new = yaml.safe_load(entry.read_text())
        if not isinstance(new, dict):
            raise fail(f"{entry}: expected the mapping printed by `lookout unit show`", 2)
        parse_directory(entry, yaml.safe_dump({"units": [new]}))  # validate before writing
        current: Any = (yaml.safe_load(target.read_text()) if target.is_file() else None) or {}
        units = [u for u in current.get("units", []) if u.get("unit_id") != new["unit_id"]]
        units.append(new)
        _write_directory(target, {**current, "units": units}, _self_id(folder))
    except FederationError as err:
        raise fail(str(err), 2) from err
    typer.echo(f"{new['unit_id']} trusted ({target}: {len(units)} partner(s))")


@unit_app.command("group")
def unit_group(
    name: Annotated[str, typer.Argument(help="group name, e.g. IREN")],
    members: Annotated[
        list[str] | None, typer.Argument(help="unit ids of the group (this unit may be one)")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="delete the group")] = False,
    unit_dir: UnitDir = None,
    directory: Annotated[Path | None, typer.Option(help="partner directory file")] = None,
) -> None:
    """Define (or replace, or --remove) a named group of partners, to address it as one."""
    folder = _unit_dir(unit_dir)
    target = _directory_path(folder, directory)
    try:
        check_group_name(name)
        current: Any = (yaml.safe_load(target.read_text()) if target.is_file() else None) or {}
        groups = dict(current.get("groups") or {})
        if remove:
            groups.pop(name, None)
        elif not members:
            raise fail("give the group's members, or --remove", 2)
        else:
            groups[name] = list(dict.fromkeys(members))
        document = {"units": current.get("units", []), **current, "groups": groups}
        if not groups:
            document.pop("groups")
        _write_directory(target, document, _self_id(folder))
    except FederationError as err:
        raise fail(str(err), 2) from err
    if remove:
        typer.echo(f"group {name} removed ({target})")
    else:
        typer.echo(f"group {name}: {', '.join(groups[name])} ({target})")


# ---------------------------------------------------------------- queries (HTTP client)


def _print_query(query: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(query, indent=2, ensure_ascii=False))
        return
    typer.echo(query["id"])
    subject = query["subject"]
    items = (
        subject["containers"]
        + subject["bl_numbers"]
        + ([subject["batch_ref"]] if subject["batch_ref"] else [])
    )
    typer.echo(
        f"  {query['box']} from {query['origin_unit']}  {query['priority']}  "
        f"status {query['status']}  deadline {query['deadline_at']}"
        + ("  OVERDUE" if query["overdue"] else "")
    )
    typer.echo(f"  subject: {', '.join(items)}")
    for rec in query["recipients"]:
        delivery = rec.get("delivery") or {}
        extra = (
            f"  ({delivery['pending']} pending: {delivery.get('last_error') or 'queued'})"
            if delivery.get("pending")
            else ""
        )
        typer.echo(f"  → {rec['unit_id']}: {rec['state']}{extra}")
    for msg in query.get("thread", []):
        typer.echo(f"  [{msg['created_at']}] {msg['kind']} {msg['author_unit']}: {msg['body']}")


@queries_app.command("open")
def queries_open(
    to: Annotated[list[str], typer.Option("--to", help="recipient unit id; repeatable")],
    question: Annotated[str, typer.Option(help="what you ask the partner")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    container: Annotated[
        list[str] | None, typer.Option(help="container number; repeatable")
    ] = None,
    bl: Annotated[list[str] | None, typer.Option(help="B/L number; repeatable")] = None,
    batch: Annotated[
        str | None,
        typer.Option(help="batch id: fill the explanation from its flagged row of --container"),
    ] = None,
    priority: Annotated[str, typer.Option(help="urgent or routine")] = "urgent",
    as_json: AsJson = False,
) -> None:
    """Open a query; prints its id first. With --batch, one --container is explained from it."""
    body: dict[str, Any] = {"to": to, "question": question, "priority": priority}
    if batch:
        if len(container or []) != 1:
            raise fail("--batch needs exactly one --container", 2)
        body.update(batch_id=batch, container_number=(container or [""])[0])
    else:
        body["subject"] = {"containers": container or [], "bl_numbers": bl or []}
    _print_query(call(url, api_key, "POST", "/v1/queries", json=body), as_json)


@queries_app.command("list")
def queries_list(
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    box: Annotated[str | None, typer.Option(help="inbox or outbox")] = None,
    status: Annotated[str | None, typer.Option(help="e.g. expired, answered")] = None,
    container: Annotated[str | None, typer.Option(help="only queries naming it")] = None,
    as_json: AsJson = False,
) -> None:
    """List queries, newest first (id, box, status, priority, deadline, recipients)."""
    params = {k: v for k, v in {"box": box, "status": status, "container": container}.items() if v}
    page = call(url, api_key, "GET", "/v1/queries", params={**params, "limit": 500})
    if as_json:
        typer.echo(json.dumps(page, indent=2, ensure_ascii=False))
        return
    for q in page["data"]:
        recipients = " ".join(f"{r['unit_id']}={r['state']}" for r in q["recipients"])
        typer.echo(
            f"{q['id']}  {q['box']:<6} {q['status']:<12} {q['priority']:<7} "
            f"{q['deadline_at']}  {recipients}"
        )
    typer.echo(f"{page['count']} query(ies)", err=True)


@queries_app.command("show")
def queries_show(
    query_id: str, url: Url = "http://127.0.0.1:8000", api_key: ApiKey = "", as_json: AsJson = False
) -> None:
    """Show a query, each recipient's state and delivery, and the thread."""
    _print_query(call(url, api_key, "GET", f"/v1/queries/{query_id}"), as_json)


def _action(
    query_id: str, action: str, body: dict[str, Any], url: str, key: str, as_json: bool
) -> None:
    _print_query(call(url, key, "POST", f"/v1/queries/{query_id}/{action}", json=body), as_json)


@queries_app.command("ack")
def queries_ack(
    query_id: str,
    note: Annotated[str, typer.Option(help="optional note")] = "",
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    as_json: AsJson = False,
) -> None:
    """Acknowledge a received query."""
    _action(query_id, "ack", {"note": note}, url, api_key, as_json)


@queries_app.command("answer")
def queries_answer(
    query_id: str,
    text: Annotated[str, typer.Argument(help="the answer")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    as_json: AsJson = False,
) -> None:
    """Answer a received query (or follow up on a sent one)."""
    _action(query_id, "reply", {"body": text}, url, api_key, as_json)


queries_app.command("reply", help="Same as `answer`.")(queries_answer)


@queries_app.command("close")
def queries_close(
    query_id: str,
    note: Annotated[str, typer.Option(help="optional note")] = "",
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    as_json: AsJson = False,
) -> None:
    """Close a sent query once answered."""
    _action(query_id, "close", {"note": note}, url, api_key, as_json)


@queries_app.command("cancel")
def queries_cancel(
    query_id: str,
    reason: Annotated[str, typer.Option(help="why")] = "",
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    as_json: AsJson = False,
) -> None:
    """Withdraw a sent query from recipients that have not answered."""
    _action(query_id, "cancel", {"note": reason}, url, api_key, as_json)


app = typer.Typer(
    help="Federation commands (mounted as `lookout unit`, `lookout queries` and "
    "`lookout casenotes`).",
    no_args_is_help=True,
)
app.add_typer(unit_app, name="unit")
app.add_typer(queries_app, name="queries")
app.add_typer(casenotes_app, name="casenotes")

if __name__ == "__main__":
    app()
