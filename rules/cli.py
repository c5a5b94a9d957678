"""`lookout rules ...`: check, test, backtest, explain, diff and schema for rule authors.

Every command prints diagnostics and exits 1 on errors; a user never sees a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from engine.errors import LookoutError, refused_file
from engine.identity import short_id
from engine.spec import DatasetSpec
from rules._backtest import backtest, dataset_fields, read_history
from rules._diagnostics import Diagnostic, RulePackError
from rules._diff import diff_packs
from rules._documents import json_schema
from rules._explain import ExplainError, explain
from rules._pack import DEFAULT_PACK, RulePack, check_pack, load_pack
from rules._selftest import coverage_problem, failure_diagnostic, run_rule_tests

app = typer.Typer(
    help="Write, test and backtest YAML profiling rules.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


SpecOpt = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        help="dataset spec the data file is read with, as a batch is (default: canonical names)",
    ),
]


def _read_spec(path: Path | None) -> DatasetSpec | None:
    from engine.spec import load_spec

    return None if path is None else load_spec(path)


def _read_history(path: Path, spec: Path | None) -> pl.DataFrame:
    """The history file as the backtest reads it; records left out are said on stderr."""
    notes: list[str] = []
    frame = read_history(path, _read_spec(spec), notes=notes)
    for note in notes:
        err.print(f"[yellow]warning:[/yellow] {_escape(note)}")
    return frame


class _Consoles:
    """stdout/stderr consoles made on first use, so redirected output gets a wide table."""

    def __getattr__(self, name: str) -> Any:
        stderr = name == "err"
        stream = sys.stderr if stderr else sys.stdout
        width = None if stream.isatty() else 160
        console = Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)
        return console


_consoles = _Consoles()


class _Lazy:
    def __init__(self, name: str) -> None:
        self.name = name

    def print(self, *args: Any, **kwargs: Any) -> None:
        getattr(_consoles, self.name).print(*args, **kwargs)


out = _Lazy("out")
err = _Lazy("err")
# The CLI prints skipped rules itself; the stage's log line would repeat them.
logging.getLogger("rules").setLevel(logging.ERROR)

F = TypeVar("F", bound=Callable[..., Any])

PackArg = Annotated[Path, typer.Argument(help="rule pack folder or file (default: shipped pack)")]


def _guard(func: F) -> F:
    """Turn Lookout errors into printed diagnostics and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RulePackError as exc:
            for diag in exc.diagnostics:
                _print_diag(diag)
            err.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
        except LookoutError as exc:
            err.print(f"[red]error:[/red] {_escape(str(exc))}", markup=True)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if refused_file(exc):
                # The system refused a file or folder (one under a file, without permission,
                # a full disk): the `lookout` command reports it, in the run's language.
                raise
            _internal_error(exc)
        except Exception as exc:  # a user must never see a traceback
            _internal_error(exc)

    return wrapper  # type: ignore[return-value]


def _internal_error(exc: Exception) -> NoReturn:
    """Report ``exc`` as a bug in Lookout; exit 1."""
    err.print(
        f"[red]internal error:[/red] {type(exc).__name__}: {_escape(str(exc))}\n"
        "  hint: this is a bug in Lookout; please report it with the command you ran"
    )
    raise typer.Exit(1) from None


def _print_diag(diag: Diagnostic) -> None:
    colour = "red" if diag.is_error else "yellow"
    text = diag.render()
    head, _, rest = text.partition("\n")
    err.print(f"[{colour}]{_escape(head)}[/{colour}]")
    if rest:
        err.print(_escape(rest))


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def _load(path: Path) -> RulePack:
    pack = load_pack(path)
    return pack


def _parse_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise LookoutError(
            f"{option} {text!r} is not a date", hint="write it as YYYY-MM-DD"
        ) from None


@app.command()
@_guard
def check(
    pack: PackArg = DEFAULT_PACK,
    strict: Annotated[bool, typer.Option(help="treat warnings as errors")] = False,
    fields_from: Annotated[
        Path | None,
        typer.Option(help="a data file whose extra columns rules may use (dataset fields)"),
    ] = None,
    spec: SpecOpt = None,
) -> None:
    """Lint a pack: report every error and warning at once, as file:line:col."""
    extra = dataset_fields(fields_from, _read_spec(spec)) if fields_from is not None else None
    diags = check_pack(pack, fields=extra)
    for diag in diags:
        _print_diag(diag)
    errors = sum(d.is_error for d in diags)
    warnings = len(diags) - errors
    if errors == 0:
        loaded = load_pack(pack, fields=extra)
        statuses = [r.status for r in loaded.rules]
        out.print(
            f"{pack}: {len(statuses)} rules ({statuses.count('active')} active, "
            f"{statuses.count('experimental')} experimental, "
            f"{statuses.count('retired')} retired), {len(loaded.lists)} lists, "
            f"{len(loaded.macros)} macros; {warnings} warning(s)"
        )
        out.print(f"pack hash {loaded.pack_hash}")
    else:
        err.print(f"[red]{errors} error(s), {warnings} warning(s)[/red]")
    if errors or (strict and warnings):
        raise typer.Exit(1)


@app.command("test")
@_guard
def test_cmd(
    pack: PackArg = DEFAULT_PACK, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False
) -> None:
    """Run every rule's embedded tests; active rules need a hit and a no_hit test."""
    loaded = _load(pack)
    failures: list[Diagnostic] = []
    total = 0
    for rule in loaded.rules:
        if rule.status == "retired":
            continue
        problem = coverage_problem(rule)
        if problem:
            p = rule.pos
            failures.append(
                Diagnostic(
                    p.file,
                    p.line,
                    p.col,
                    "error",
                    f"rule '{rule.id}': {problem}",
                    "add tests: - {expect: hit, row: {...}} and - {expect: no_hit, row: {...}}",
                )
            )
        for outcome in run_rule_tests(rule, loaded.fields):
            total += 1
            if not outcome.passed:
                failures.append(failure_diagnostic(outcome))
            elif verbose:
                out.print(
                    f"ok  {rule.id} #{outcome.index + 1} {outcome.test.expect}"
                    + (f"  ({outcome.reason})" if outcome.reason else "")
                )
    for diag in failures:
        _print_diag(diag)
    passed = total - sum(1 for f in failures if f.message.startswith("test "))
    summary = f"{total} tests, {passed} passed, {len(failures)} problem(s)"
    if failures:
        err.print(f"[red]{summary}[/red]")
        raise typer.Exit(1)
    out.print(summary)


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}" if pct else f"{value:.2f}"
    return str(value)


@app.command("backtest")
@_guard
def backtest_cmd(
    history: Annotated[Path, typer.Option(help="labelled history (Parquet/CSV/IPC/NDJSON)")],
    date_from: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="last day, YYYY-MM-DD")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the full report")] = None,
    pack: PackArg = DEFAULT_PACK,
    spec: SpecOpt = None,
) -> None:
    """Per-rule hits, hit rate among inspected, precision, lift and overlap on history."""
    loaded = _load(pack)
    frame = _read_history(history, spec)
    report = backtest(
        loaded, frame, start=_parse_date(date_from, "--from"), until=_parse_date(until, "--until")
    )
    for note in report.notes:
        err.print(f"note: {_escape(note)}")
    for item in report.skipped:
        err.print(f"[yellow]skipped {item['id']}[/yellow]: {_escape(item['reason'])}")
    table = Table(title=f"backtest of {pack} on {history}")
    for col in (
        "rule",
        "status",
        "hits",
        "hits/day",
        "hit rate insp.",
        "precision",
        "lift",
        "recall",
        "top overlap",
    ):
        table.add_column(
            col, justify="left" if col in ("rule", "status", "top overlap") else "right"
        )
    for r in report.rules.iter_rows(named=True):  # a summary table, not the scoring path
        overlap = (
            f"{r['top_overlap']} ({_fmt(r['top_overlap_share'], True)})"
            if r["top_overlap"]
            else "-"
        )
        table.add_row(
            r["rule"],
            "shadow" if r["status"] == "experimental" else r["status"],
            str(r["hits"]),
            _fmt(r["hits_per_day"]),
            _fmt(r["hit_rate_inspected"], True),
            _fmt(r["precision"], True),
            _fmt(r["lift"]),
            _fmt(r["recall"], True),
            overlap,
        )
    out.print(table)
    t = report.totals
    out.print(
        f"rows {t['rows']}, days {t['days']}, inspected {t['inspected']}, positives "
        f"{t['positives']} (base rate {_fmt(t['base_rate'], True)}); rows with an active hit "
        f"{t['rows_with_active_hit']} ({_fmt(t['active_hit_rate'], True)}), precision "
        f"{_fmt(t['active_precision'], True)}, lift {_fmt(t['active_lift'])}, recall "
        f"{_fmt(t['active_recall'], True)}; shadow hits {t['rows_with_shadow_hit']}; "
        f"{t['rules_evaluated']} rules evaluated, {t['rules_skipped']} skipped"
    )
    if json_out:
        json_out.write_text(json.dumps(report.to_dict(), indent=2, default=str))
        out.print(f"report written to {json_out}")


@app.command("explain")
@_guard
def explain_cmd(
    rule: Annotated[str, typer.Option(help="rule id")],
    row: Annotated[str, typer.Option(help="the row as JSON, or @file.json")],
    pack: Annotated[Path, typer.Option(help="rule pack folder or file")] = DEFAULT_PACK,
) -> None:
    """Show which selections of a rule were true on a row, and with what values."""
    loaded = _load(pack)
    text = row
    if row.startswith("@"):
        try:
            text = Path(row[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ExplainError(f"cannot read {row[1:]}: {exc}") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExplainError(
            f"--row is not valid JSON: {exc.msg} at column {exc.colno}",
            hint="write e.g. --row '{\"is_reefer\": true}'",
        ) from None
    if not isinstance(values, dict):
        raise ExplainError("--row must be a JSON object of field: value")
    out.print(_escape(explain(loaded, rule, values).render()))


@app.command("diff")
@_guard
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="the pack before")],
    new: Annotated[Path, typer.Argument(help="the pack after")],
    history: Annotated[Path | None, typer.Option(help="history to compare hits on")] = None,
    spec: SpecOpt = None,
) -> None:
    """Rules added, removed and changed between two packs; hit changes with --history."""
    result = diff_packs(
        _load(old), _load(new), _read_history(history, spec) if history is not None else None
    )
    out.print(f"old {short_id(result.old_hash)}  new {short_id(result.new_hash)}")
    for rule_id in result.added:
        out.print(f"[green]+ {rule_id}[/green]")
    for rule_id in result.removed:
        out.print(f"[red]- {rule_id}[/red]")
    for rule_id, aspects in result.changed.items():
        out.print(f"[yellow]~ {rule_id}[/yellow]: {', '.join(aspects)}")
    if not (result.added or result.removed or result.changed):
        out.print("no rule changed")
    if result.hits is not None:
        table = Table(title="hits per rule")
        for col in ("rule", "old", "new", "delta"):
            table.add_column(col, justify="left" if col == "rule" else "right")
        for r in result.hits.iter_rows(named=True):
            table.add_row(r["rule"], _fmt(r["hits_old"]), _fmt(r["hits_new"]), _fmt(r["delta"]))
        out.print(table)


@app.command("schema")
@_guard
def schema_cmd(
    output: Annotated[Path | None, typer.Option("--out", help="write to a file")] = None,
) -> None:
    """Print the JSON Schema of rule YAML (for editor completion)."""
    text = json.dumps(json_schema(), indent=2)
    if output:
        output.write_text(text + "\n")
        out.print(f"schema written to {output}")
    else:
        sys.stdout.write(text + "\n")


__all__ = ["app"]

if __name__ == "__main__":
    app()
