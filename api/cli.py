"""`lookout` — the one command-line entry point over engine, rules, models and the service.

Every user-facing error is a LookoutError rendered as ``where: what`` plus a hint, with a
non-zero exit code; a traceback is shown only with ``LOOKOUT_DEBUG=1``.

Messages are in English or Russian: ``--lang ru|en`` (anywhere on the command line), else
``LOOKOUT_LANG``, else the POSIX locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English.
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from api.i18n import (
    _N,
    LOCALES,
    gettext,
    locale_from_environment,
    localise,
    localise_error,
    set_locale,
)
from engine.errors import LookoutError, refused_file, refused_path
from engine.i18n import N_

if TYPE_CHECKING:
    from engine._reading import EarlyRead
    from engine.executor import Executor
    from engine.policy import Capacity
    from engine.record import RunRecord
    from engine.scorer import Scorer
    from engine.spec import DatasetSpec

app = typer.Typer(
    name="lookout",
    help=_N("Container risk targeting for customs Port Control Units."),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
if not console.is_terminal:  # piped or logged: wide enough for the reasons column
    console = Console(width=140)
err_console = Console(stderr=True)


def _mount() -> None:
    """Attach each package's command group (kept in that package, next to its code)."""
    from api.commands import keys_app
    from api.commands import serve as serve_command
    from api.federation.casenotes.cli import casenotes_app
    from api.federation.cli import queries_app, unit_app
    from api.history_cli import history_app, watchlist_app
    from api.spec_cli import app as spec_app
    from models.cli import app as model_app
    from rules.cli import app as rules_app

    app.add_typer(rules_app, name="rules", help=_N("Check, test, backtest and explain rule packs."))
    app.add_typer(model_app, name="model", help=_N("Train, evaluate and inspect risk models."))
    app.add_typer(history_app, name="history", help=_N("The entity history store."))
    app.add_typer(watchlist_app, name="watchlist", help=_N("Watchlists and screening."))
    app.add_typer(spec_app, name="spec", help=_N("Dataset specs: propose one for an unknown file."))
    app.command("serve", help=_N("Run the HTTP API (and web pages) with uvicorn."))(serve_command)
    app.add_typer(keys_app, name="keys", help=_N("Create, list and revoke unit API keys."))
    app.add_typer(
        unit_app, name="unit", help=_N("This unit's identity, keys and partner directory.")
    )
    app.add_typer(queries_app, name="queries", help=_N("Urgent queries to and from partner units."))
    app.add_typer(
        casenotes_app, name="casenotes", help=_N("Case notes and proposed rules between units.")
    )


@app.command(
    help=_N(
        "Score a manifest: load → validate → enrich → rules → model → combine → select → "
        "record.\n\nSOURCE is a file or a quoted glob (several files: one batch), for either "
        "engine."
    )
)
def score(
    source: Annotated[
        str, typer.Argument(help=_N("Manifest file, or a quoted glob such as 'feeds/*.csv'."))
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help=_N("Folder for the outputs."))] = Path(
        "out"
    ),
    spec: Annotated[
        str | None, typer.Option(help=_N("Dataset spec YAML, or the name of a shipped spec."))
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help=_N("Rule pack folder (default: the shipped pack)."))
    ] = None,
    no_rules: Annotated[bool, typer.Option("--no-rules", help=_N("Score without rules."))] = False,
    model: Annotated[
        Path | None, typer.Option(help=_N("Model folder (default: the shipped model)."))
    ] = None,
    no_model: Annotated[
        bool, typer.Option("--no-model", help=_N("Score without a model."))
    ] = False,
    policy: Annotated[
        Path | None, typer.Option(help=_N("Scoring policy YAML (default: shipped)."))
    ] = None,
    capacity: Annotated[
        str | None, typer.Option(help=_N("Inspection capacity: a count (50) or a share (2%)."))
    ] = None,
    seed: Annotated[int, typer.Option(help=_N("Seed of the random control sample."))] = 0,
    history: Annotated[
        Path | None, typer.Option(help=_N("History store folder (enables history features)."))
    ] = None,
    history_append: Annotated[
        bool,
        typer.Option(help="Append the scored batch to the history store (off for re-scoring)."),
    ] = True,
    watchlist: Annotated[
        list[Path] | None,
        typer.Option(
            help=_N("Watchlist file (UN XML or CSV); repeatable. Default: the shipped UN SC list.")
        ),
    ] = None,
    no_watchlist: Annotated[
        bool, typer.Option("--no-watchlist", help=_N("Screen against no list."))
    ] = False,
    chunk_rows: Annotated[int, typer.Option(help=_N("Rows per chunk (bounds memory)."))] = 250_000,
    hold_rows: Annotated[
        int,
        typer.Option(
            min=0,
            help=_N(
                "Scored rows kept in memory until the output is written, instead of "
                "scratch files (locally; 0: every chunk to disk)."
            ),
        ),
    ] = 1_000_000,  # engine._parts.DEFAULT_HOLD_ROWS (not imported: start-up)
    engine: Annotated[
        str, typer.Option(help=_N("local (one process) or ray (files scored in parallel on Ray)."))
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help=_N("Ray cluster address (with --engine ray; default: local).")),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help=_N("Ray actors (with --engine ray; default: the CPUs)."))
    ] = None,
    layout: Annotated[
        str | None,
        typer.Option(
            help=_N(
                "Scored output: 'file' (one scored.parquet) or 'partitioned' (scored/, one "
                "Parquet file per part). Default: file locally, partitioned on Ray."
            )
        ),
    ] = None,
) -> None:
    from engine._reading import start_reading
    from engine.policy import Capacity
    from engine.spec import load_spec

    cap = Capacity.parse(capacity) if capacity else None
    if engine != "ray" and (address or workers):
        raise LookoutError(
            N_("--address and --workers apply to --engine ray only"),
            hint=N_("add --engine ray, or drop them"),
        )
    if engine not in ("local", "ray"):
        raise LookoutError(
            N_("unknown engine '{engine}'", engine=engine),
            hint=N_("use --engine local or --engine ray"),
        )
    dataset_spec = load_spec(spec) if spec else None
    # The first chunks are read while the scorer is imported and built (about a second of
    # one core); on Ray the workers read their own files.
    early = start_reading(source, dataset_spec, chunk_rows) if engine == "local" else None
    try:
        from api.wiring import build_scorer, require_history_if_model_needs_it

        scorer = build_scorer(
            rules_dir=rules,
            model_dir=model,
            policy_path=policy,
            history_dir=history,
            watchlists=() if no_watchlist else (watchlist or None),
            use_rules=not no_rules,
            use_model=not no_model,
            append_history=history_append,
        )
        require_history_if_model_needs_it(scorer)
        from engine.distributed import Ray
        from engine.executor import Local

        record = _run_with_progress(
            source,
            scorer=scorer,
            out_dir=out,
            spec=dataset_spec,
            capacity=cap,
            seed=seed,
            chunk_rows=chunk_rows,
            hold_rows=hold_rows,
            layout=layout,
            executor=Ray(address=address, workers=workers) if engine == "ray" else Local(),
            early=early,
        )
    finally:
        if early is not None:
            early.close()
    from api._summary import print_summary

    print_summary(console, record, out)


def _run_with_progress(
    source: str,
    *,
    scorer: Scorer,
    out_dir: Path,
    spec: DatasetSpec | None,
    capacity: Capacity | None,
    seed: int,
    chunk_rows: int,
    hold_rows: int,
    layout: str | None,
    executor: Executor,
    early: EarlyRead | None = None,
) -> RunRecord:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.pipeline import run_batch

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("scoring", total=None)

        def progress(stage: str, rows: int) -> None:
            bar.update(task, completed=rows, description=stage)

        return run_batch(
            source,
            scorer=scorer,
            out_dir=out_dir,
            spec=spec,
            capacity=capacity,
            seed=seed,
            progress=progress,
            chunk_rows=chunk_rows,
            hold_rows=hold_rows,
            layout=layout,
            executor=executor,
            early=early,
        )


@app.command(
    help=_N("Generate realistic demo manifests and a labelled history with planted typologies.")
)
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help=_N("Folder for the generated files."))],
    days: Annotated[int, typer.Option(help=_N("Days of daily manifests."))] = 1,
    rows_per_day: Annotated[int, typer.Option(help=_N("Manifest lines per day."))] = 5_000,
    seed: Annotated[int, typer.Option(help=_N("Seed: same seed, same files."))] = 7,
    history_days: Annotated[
        int, typer.Option(help=_N("Days of labelled history before the manifests."))
    ] = 0,
    parquet: Annotated[bool, typer.Option(help=_N("Also write Parquet manifests."))] = False,
    history_rows_per_day: Annotated[
        int | None, typer.Option(help=_N("History lines per day (default: --rows-per-day)."))
    ] = None,
    universe_rows: Annotated[
        int | None,
        typer.Option(
            help=_N(
                "Size the party pools and fleet for this many lines a day "
                "(default: --rows-per-day); smaller = traders repeat more."
            )
        ),
    ] = None,
    air_rows_per_day: Annotated[
        int, typer.Option(help=_N("Air waybills per day (an air cargo day beside the manifests)."))
    ] = 0,
) -> None:
    from engine.generate import generate as run_generate

    formats = ("csv", "parquet") if parquet else ("csv",)
    result = run_generate(
        days=days,
        rows_per_day=rows_per_day,
        seed=seed,
        out_dir=out,
        history_days=history_days,
        formats=formats,
        history_rows_per_day=history_rows_per_day,
        universe_rows=universe_rows,
        air_rows_per_day=air_rows_per_day,
    )
    console.print(
        gettext("generated into [bold]{out}[/bold]: {result}").format(out=out, result=result)
    )


@app.command(
    help=_N("Generate the demo batch and history, then score it with the shipped rules and model.")
)
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help=_N("Folder for the demo data and outputs."))
    ] = Path("out/demo"),
    rows: Annotated[int, typer.Option(help=_N("Manifest lines in the demo batch."))] = 5_000,
) -> None:
    from api._demo import run_demo

    run_demo(console, out=out, rows=rows)


@app.callback()
def _options(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help=_N(
                "Language of the messages: en or ru (default: LOOKOUT_LANG, else the locale "
                "LC_ALL / LC_MESSAGES / LANG, else en)."
            ),
        ),
    ] = None,
) -> None:
    """Read by :func:`main` before the command runs (it may stand anywhere on the line)."""


def take_lang(argv: list[str]) -> tuple[str | None, list[str]]:
    """``--lang X`` / ``--lang=X`` taken out of the arguments (before a ``--``), and the rest."""
    chosen: str | None = None
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            rest += [arg, *args]
            break
        if arg == "--lang":
            chosen = next(args, "")
        elif arg.startswith("--lang="):
            chosen = arg.partition("=")[2]
        else:
            rest.append(arg)
    return chosen, rest


def _localise_help(command: Any) -> None:
    """Every help text of the command tree in the chosen language (where translated).

    ``command`` is a click command (typer's own copy of click, hence duck-typed)."""
    for attr in ("help", "short_help"):
        text = getattr(command, attr, None)
        if text:
            setattr(command, attr, localise(text))
    for param in command.params:
        text = getattr(param, "help", None)
        if text:
            param.help = localise(text)
    for sub in getattr(command, "commands", {}).values():
        _localise_help(sub)


def _own_commands() -> set[str]:
    """The commands defined in this module (score, generate, demo)."""
    return {
        c.name or c.callback.__name__.replace("_", "-")
        for c in app.registered_commands
        if c.callback is not None
    }


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI in the chosen language, turning LookoutErrors into clear
    messages. For running a command as its own process: at the end it freezes what is left
    in memory (see below), which a caller that goes on would never get back."""
    try:
        _main(argv)
    finally:
        # The command is done and the process ends: the interpreter's last garbage
        # collection would walk every object left (numba's and polars' registries, the
        # scorer), about 0.25 s at the end of every `lookout score`, to free memory the
        # operating system takes back anyway. Frozen objects are left out of it.
        gc.freeze()


def _main(argv: list[str] | None) -> None:
    lang, args = take_lang(sys.argv[1:] if argv is None else argv)
    if lang is not None and lang.lower() not in LOCALES:
        err_console.print(
            f"[bold red]error:[/bold red] unknown language {lang!r} for --lang; use "
            f"{' or '.join(LOCALES)}",
            highlight=False,
        )
        sys.exit(2)
    set_locale(lang.lower() if lang else locale_from_environment())
    # `lookout score` needs none of the command groups: mounting them imports the API,
    # the database layer and the federation (seconds of start-up on every run)
    if not args or args[0] not in _own_commands():
        _mount()
    command = typer.main.get_command(app)
    _localise_help(command)
    try:
        # Without standalone mode click returns (not raises) the code of a typer.Exit.
        code = command.main(args=args, prog_name="lookout", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except LookoutError as err:
        err_console.print(
            "[bold red]" + gettext("error:") + "[/bold red] " + localise_error(err),
            highlight=False,
            markup=True,
        )
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print(gettext("aborted"))
        sys.exit(130)
    except OSError as err:
        # The system refused a read or a write (a full disk, an output folder under a file
        # or without write permission): not a bug, and not Lookout's to mend. Other system
        # errors (a refused connection, a timeout) are not about files: reported as before.
        if not refused_file(err):
            _internal_error(err)
        if os.environ.get("LOOKOUT_DEBUG"):
            traceback.print_exc()
        err_console.print(
            "[bold red]"
            + gettext("error:")
            + "[/bold red] "
            + escape(_system_refusal(err))
            + "\n  "
            + escape(
                gettext(
                    "hint: free disk space, or check that the folder exists and can be "
                    "written (LOOKOUT_DEBUG=1 shows where)"
                )
            ),
            highlight=False,
        )
        sys.exit(2)
    except Exception as err:
        # Usage errors (unknown command or option) of click, or of typer's vendored copy.
        show, exit_code = getattr(err, "show", None), getattr(err, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        _internal_error(err)


def _internal_error(err: BaseException) -> NoReturn:
    """Report ``err`` as a bug in Lookout (the traceback with ``LOOKOUT_DEBUG=1``); exit 3."""
    if os.environ.get("LOOKOUT_DEBUG"):
        traceback.print_exc()
    err_console.print(
        "[bold red]"
        + gettext("internal error:")
        + f"[/bold red] {type(err).__name__}: {err}\n  "
        + gettext(
            "hint: this is a bug in Lookout; rerun with LOOKOUT_DEBUG=1 and report the output"
        ),
        highlight=False,
    )
    sys.exit(3)


def _system_refusal(err: OSError) -> str:
    """What the system refused and where (``... of /day/out: Not a directory``), in the
    run's language; the reason is the system's own words."""
    reason = err.strerror or str(err)
    where = refused_path(err)
    if where is None:
        return gettext("the system refused a read or write: {reason}").format(reason=reason)
    return gettext("the system refused a read or write of {path}: {reason}").format(
        path=where, reason=reason
    )


if __name__ == "__main__":
    main()
