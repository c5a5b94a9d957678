"""`lookout` — the one command-line entry point over engine, rules, models and the service.

Every user-facing error is a LookoutError rendered as ``where: what`` plus a hint, with a
non-zero exit code; a traceback is shown only with ``LOOKOUT_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from engine.errors import LookoutError

if TYPE_CHECKING:
    from engine.executor import Executor
    from engine.policy import Capacity
    from engine.record import RunRecord
    from engine.scorer import Scorer
    from engine.spec import DatasetSpec

app = typer.Typer(
    name="lookout",
    help="Container risk targeting for customs Port Control Units.",
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

    app.add_typer(rules_app, name="rules", help="Check, test, backtest and explain rule packs.")
    app.add_typer(model_app, name="model", help="Train, evaluate and inspect risk models.")
    app.add_typer(history_app, name="history", help="The entity history store.")
    app.add_typer(watchlist_app, name="watchlist", help="Watchlists and screening.")
    app.add_typer(spec_app, name="spec", help="Dataset specs: propose one for an unknown file.")
    app.command("serve", help="Run the HTTP API (and web pages) with uvicorn.")(serve_command)
    app.add_typer(keys_app, name="keys", help="Create, list and revoke unit API keys.")
    app.add_typer(unit_app, name="unit", help="This unit's identity, keys and partner directory.")
    app.add_typer(queries_app, name="queries", help="Urgent queries to and from partner units.")
    app.add_typer(
        casenotes_app, name="casenotes", help="Case notes and proposed rules between units."
    )


@app.command()
def score(
    source: Annotated[
        str, typer.Argument(help="Manifest file, or a quoted glob such as 'feeds/*.csv'.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")] = Path("out"),
    spec: Annotated[
        str | None, typer.Option(help="Dataset spec YAML, or the name of a shipped spec.")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="Rule pack folder (default: the shipped pack).")
    ] = None,
    no_rules: Annotated[bool, typer.Option("--no-rules", help="Score without rules.")] = False,
    model: Annotated[
        Path | None, typer.Option(help="Model folder (default: the shipped model).")
    ] = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Score without a model.")] = False,
    policy: Annotated[
        Path | None, typer.Option(help="Scoring policy YAML (default: shipped).")
    ] = None,
    capacity: Annotated[
        str | None, typer.Option(help="Inspection capacity: a count (50) or a share (2%).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random control sample.")] = 0,
    history: Annotated[
        Path | None, typer.Option(help="History store folder (enables history features).")
    ] = None,
    history_append: Annotated[
        bool,
        typer.Option(help="Append the scored batch to the history store (off for re-scoring)."),
    ] = True,
    watchlist: Annotated[
        list[Path] | None,
        typer.Option(
            help="Watchlist file (UN XML or CSV); repeatable. Default: the shipped UN SC list."
        ),
    ] = None,
    no_watchlist: Annotated[
        bool, typer.Option("--no-watchlist", help="Screen against no list.")
    ] = False,
    chunk_rows: Annotated[int, typer.Option(help="Rows per chunk (bounds memory).")] = 250_000,
    engine: Annotated[
        str, typer.Option(help="local (one process) or ray (files scored in parallel on Ray).")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (with --engine ray; default: local).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Ray actors (with --engine ray; default: the CPUs).")
    ] = None,
    layout: Annotated[
        str | None,
        typer.Option(
            help="Scored output: 'file' (one scored.parquet) or 'partitioned' (scored/, one "
            "Parquet file per part). Default: file locally, partitioned on Ray."
        ),
    ] = None,
) -> None:
    """Score a manifest: load → validate → enrich → rules → model → combine → select → record.

    SOURCE is a file or a quoted glob (several files: one batch), for either engine."""
    from api.wiring import build_scorer, require_history_if_model_needs_it
    from engine.policy import Capacity
    from engine.spec import load_spec

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
    dataset_spec = load_spec(spec) if spec else None
    cap = Capacity.parse(capacity) if capacity else None
    if engine != "ray" and (address or workers):
        raise LookoutError(
            "--address and --workers apply to --engine ray only",
            hint="add --engine ray, or drop them",
        )
    if engine not in ("local", "ray"):
        raise LookoutError(f"unknown engine '{engine}'", hint="use --engine local or --engine ray")
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
        layout=layout,
        executor=Ray(address=address, workers=workers) if engine == "ray" else Local(),
    )
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
    layout: str | None,
    executor: Executor,
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
            layout=layout,
            executor=executor,
        )


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the generated files.")],
    days: Annotated[int, typer.Option(help="Days of daily manifests.")] = 1,
    rows_per_day: Annotated[int, typer.Option(help="Manifest lines per day.")] = 5_000,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same files.")] = 7,
    history_days: Annotated[
        int, typer.Option(help="Days of labelled history before the manifests.")
    ] = 0,
    parquet: Annotated[bool, typer.Option(help="Also write Parquet manifests.")] = False,
    history_rows_per_day: Annotated[
        int | None, typer.Option(help="History lines per day (default: --rows-per-day).")
    ] = None,
    universe_rows: Annotated[
        int | None,
        typer.Option(
            help="Size the party pools and fleet for this many lines a day "
            "(default: --rows-per-day); smaller = traders repeat more."
        ),
    ] = None,
    air_rows_per_day: Annotated[
        int, typer.Option(help="Air waybills per day (an air cargo day beside the manifests).")
    ] = 0,
) -> None:
    """Generate realistic demo manifests and a labelled history with planted typologies."""
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
    console.print(f"generated into [bold]{out}[/bold]: {result}")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the demo data and outputs.")
    ] = Path("out/demo"),
    rows: Annotated[int, typer.Option(help="Manifest lines in the demo batch.")] = 5_000,
) -> None:
    """Generate the demo batch and history, then score it with the shipped rules and model."""
    from api._demo import run_demo

    run_demo(console, out=out, rows=rows)


def main() -> None:
    """Entry point: run the CLI, turning LookoutErrors into clear messages."""
    _mount()
    try:
        # Without standalone mode click returns (not raises) the code of a typer.Exit.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except LookoutError as err:
        err_console.print(f"[bold red]error:[/bold red] {err}", highlight=False, markup=True)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except Exception as err:
        # Usage errors (unknown command or option) of click, or of typer's vendored copy.
        show, exit_code = getattr(err, "show", None), getattr(err, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        if os.environ.get("LOOKOUT_DEBUG"):
            traceback.print_exc()
        err_console.print(
            f"[bold red]internal error:[/bold red] {type(err).__name__}: {err}\n"
            "  hint: this is a bug in Lookout; rerun with LOOKOUT_DEBUG=1 and report the output",
            highlight=False,
        )
        sys.exit(3)


if __name__ == "__main__":
    main()
