"""Every `lookout ...` command shown in docs/federation.md parses against the real CLIs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from api.commands import app as service_app
from api.federation.casenotes.cli import casenotes_app
from api.federation.cli import queries_app, unit_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "federation.md"
GROUPS = {"unit": unit_app, "queries": queries_app, "casenotes": casenotes_app}


def _doc_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ lookout "):
                text = line[2:].split(" #", 1)[0].split(" > ", 1)[0]
                commands.append(shlex.split(text)[1:])
    return commands


def _parse(command: Any, args: list[str]) -> None:
    """Parse ``args`` down the command tree without running anything; raises on a bad one."""
    commands = getattr(command, "commands", None)
    if commands is None:
        command.make_context(command.name, list(args))
        return
    assert args, f"{command.name} needs a subcommand"
    sub = commands.get(args[0])
    assert sub is not None, f"no command {args[0]!r}; have {sorted(commands)}"
    _parse(sub, args[1:])


def test_the_page_shows_the_commands_the_live_tests_run() -> None:
    shown = {tuple(args[:2]) for args in _doc_commands()}
    assert {
        ("unit", "init"),
        ("unit", "show"),
        ("unit", "trust"),
        ("keys", "create"),
        ("serve", "--host"),
        ("queries", "open"),
        ("queries", "list"),
        ("queries", "ack"),
        ("queries", "answer"),
        ("queries", "show"),
        ("queries", "close"),
        ("unit", "group"),
        ("casenotes", "send"),
        ("casenotes", "list"),
        ("casenotes", "show"),
        ("casenotes", "backtest"),
        ("casenotes", "adopt"),
        ("casenotes", "decline"),
    } <= shown


@pytest.mark.parametrize("args", _doc_commands(), ids=lambda a: " ".join(a[:2]))
def test_doc_command_parses(args: list[str]) -> None:
    group = GROUPS.get(args[0])
    if group is not None:
        _parse(typer.main.get_command(group), args[1:])
    else:
        _parse(typer.main.get_command(service_app), args)
