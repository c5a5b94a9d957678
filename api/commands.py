"""``lookout serve`` and ``lookout keys ...`` (mounted by the CLI in api/cli.py)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from api.audit import record_audit
from api.auth import ROLES, Role, create_key, list_keys, revoke_key
from api.db import make_engine, make_sessionmaker, migrate
from api.i18n import LOCALES, gettext
from api.settings import Settings

app = typer.Typer(help="The HTTP API service and its API keys.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke unit API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to bind (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default: settings)")] = None,
) -> None:
    """Run the API server (uvicorn) with settings from LOOKOUT_* env vars or .env."""
    import uvicorn

    from api.app import create_app

    try:
        settings = Settings()
    except ValueError as err:
        typer.echo(gettext("error:") + f" {err}", err=True)
        raise typer.Exit(2) from err
    application = create_app(settings)
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        proxy_headers=False,
    )


def _sessions() -> sessionmaker[Session]:
    try:
        settings = Settings()
    except ValueError as err:
        typer.echo(gettext("error:") + f" {err}", err=True)
        raise typer.Exit(2) from err
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    migrate(settings.sqlalchemy_url, engine)
    return make_sessionmaker(engine)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


@keys_app.command("create")
def keys_create(
    unit: Annotated[str, typer.Option(help="unit id, e.g. UZ-TAS-PCU")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")] = "analyst",
    name: Annotated[str, typer.Option(help="who or what the key is for")] = "",
    lang: Annotated[
        str | None,
        typer.Option(
            "--language",
            help="the key's default language for pages and API messages: en or ru "
            "(default: none, the browser's)",
        ),
    ] = None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    if role not in ROLES:
        typer.echo(
            gettext("error: unknown role {role}; expected one of {roles}").format(
                role=repr(role), roles=", ".join(ROLES)
            ),
            err=True,
        )
        raise typer.Exit(2)
    if lang is not None and lang not in LOCALES:
        typer.echo(
            gettext("error: unknown language {lang}; expected one of {langs}").format(
                lang=repr(lang), langs=", ".join(LOCALES)
            ),
            err=True,
        )
        raise typer.Exit(2)
    factory = _sessions()
    with factory() as session:
        row, plaintext = create_key(
            session, unit_id=unit, role=_role(role), name=name, language=lang
        )
        record_audit(
            session,
            unit_id=unit,
            actor=_actor(),
            action="key.create",
            target=row.key_id,
            detail={"role": role, "name": name, "language": lang},
        )
        session.commit()
    typer.echo(plaintext)
    typer.echo(
        gettext(
            "key {key} for {unit} ({role}) created; store it now, it is not shown again"
        ).format(key=row.key_id, unit=unit, role=role),
        err=True,
    )


@keys_app.command("list")
def keys_list(
    unit: Annotated[str | None, typer.Option(help="only this unit's keys")] = None,
) -> None:
    """List keys (ids, units, roles, state; never secrets)."""
    factory = _sessions()
    with factory() as session:
        rows = list_keys(session, unit_id=unit)
    typer.echo(
        f"{'key_id':<14} {'unit':<16} {'role':<12} {'lang':<5} {'state':<8} {'created':<20} name"
    )
    for row in rows:
        state = "revoked" if row.revoked_at else "active"
        typer.echo(
            f"{row.key_id:<14} {row.unit_id:<16} {row.role:<12} {row.language or '-':<5} "
            f"{state:<8} {row.created_at:%Y-%m-%d %H:%M:%S}  {row.name}"
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key id shown by `keys list`")],
) -> None:
    """Revoke a key; requests with it are refused from now on."""
    factory = _sessions()
    with factory() as session:
        row = revoke_key(session, key_id=key_id)
        if row is None:
            typer.echo(
                gettext("error: no key {key}; see `lookout keys list`").format(key=repr(key_id)),
                err=True,
            )
            raise typer.Exit(1)
        record_audit(
            session, unit_id=row.unit_id, actor=_actor(), action="key.revoke", target=key_id
        )
        session.commit()
    typer.echo(gettext("key {key} revoked").format(key=key_id))


def _role(value: str) -> Role:
    return value  # type: ignore[return-value]


if __name__ == "__main__":
    app()
