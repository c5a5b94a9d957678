"""``lookout model …``: train, evaluate and inspect model artifacts.

Mounted by the top-level CLI as ``lookout model``; runnable alone as
``python -m models.cli``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from engine.errors import LookoutError
from engine.identity import BatchIdentity, batch_identity
from models.artifact import CARD_FILE, load_model
from models.drift import fit_reference
from models.errors import TrainingDataError
from models.evaluate import evaluate_scores, plot_precision_curve, precision_table
from models.recipe import ModelRecipe
from models.train import labelled_rows, train_model

app = typer.Typer(help="Train, evaluate and inspect LightGBM risk models.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

DataOpt = Annotated[
    list[Path],
    typer.Option("--data", help="Labelled history (repeatable; files are concatenated in order)."),
]
SpecOpt = Annotated[Path, typer.Option("--spec", help="Dataset spec YAML with a model: section.")]
TrainedSpecOpt = Annotated[
    Path | None,
    typer.Option("--spec", help="Dataset spec (default: the one the model was trained with)."),
]
TrainedPrepareOpt = Annotated[
    bool | None,
    typer.Option(
        "--prepare/--no-prepare", help="As for train (default: as the model was trained)."
    ),
]


def _fail(err: LookoutError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {err}")
    return typer.Exit(code=2)


PrepareOpt = Annotated[
    bool,
    typer.Option(
        "--prepare/--no-prepare",
        help="Run the pipeline's validate and enrich stages and point-in-time history features "
        "before training (canonical manifest histories; the features the scorer sees).",
    ),
]


def read_history(
    paths: list[Path], spec_path: Path, *, prepare: bool = False
) -> tuple[pl.DataFrame, ModelRecipe, BatchIdentity]:
    """Read files through the spec; return the frame, the recipe and the files' identity
    (the same batch id `lookout score` gives these files: the card's data hash).

    A spec with only a ``model:`` section (no ``columns:``/``extra:``) reads canonical files
    as they are. With ``prepare`` the rows go through validate → enrich and get their
    history features computed from the earlier rows of the same files.
    """
    from dataclasses import replace

    from engine.prepare import prepare_history
    from engine.prepare import read_history as engine_read_history
    from engine.spec import default_spec, load_spec

    spec = load_spec(spec_path)
    if not spec.columns and not spec.extra:
        spec = replace(
            default_spec(),
            name=spec.name,
            model=spec.model,
            path=spec.path,
            content_hash=spec.content_hash,
            time_field=spec.time_field,
        )
    recipe = ModelRecipe.from_spec(spec)
    frame, rejected = engine_read_history(paths, spec)
    for source, count in rejected.group_by("source_file", maintain_order=True).len().iter_rows():
        err_console.print(
            f"[yellow]warning:[/yellow] {count} record(s) of "
            f"{source} could not be read and were left out"
        )
    if prepare:
        frame = prepare_history(frame)
    return frame, recipe, batch_identity(paths)


def _spec_name(path: Path) -> str:
    from engine.spec import load_spec

    return load_spec(path).name


@app.command()
def train(
    data: DataOpt,
    spec: SpecOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder to write model.txt and card.json.")],
    valid: Annotated[
        Path | None,
        typer.Option(
            "--valid",
            help="Later-period labelled data to early-stop and evaluate on "
            "(default: the last part of --data by time).",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the recipe's seed.")] = None,
    prepare: PrepareOpt = False,
) -> None:
    """Train a model on labelled history with a time-based split; write the artifact."""
    try:
        frame, recipe, inputs = read_history(data, spec, prepare=prepare and valid is None)
        if seed is not None:
            recipe = ModelRecipe(**{**recipe.__dict__, "seed": seed})
        valid_frame = read_history([valid], spec)[0] if valid is not None else None
        if prepare and valid_frame is not None:
            # One pass, so the later rows' history features see the earlier file too.
            from engine.prepare import prepare_history

            both = prepare_history(
                pl.concat(
                    [
                        frame.with_columns(pl.lit(0).alias("__part")),
                        valid_frame.with_columns(pl.lit(1).alias("__part")),
                    ],
                    how="vertical_relaxed",
                )
            )
            frame = both.filter(pl.col("__part") == 0).drop("__part")
            valid_frame = both.filter(pl.col("__part") == 1).drop("__part")
        artifact = train_model(frame, recipe, valid_frame=valid_frame, data_hash=inputs.id)
        artifact.card["name"] = _spec_name(spec)
        artifact.card["spec"] = str(spec)
        artifact.card["prepared"] = prepare
        folder = artifact.save(out)
        metrics = artifact.card["metrics"]
        plot_precision_curve(
            metrics,
            folder / "precision_at_capacity.png",
            title=f"validation {artifact.card['validation_window']['from'][:10]}"
            f" – {artifact.card['validation_window']['to'][:10]}",
        )
    except LookoutError as err:
        raise _fail(err) from None
    console.print(
        f"model written to [bold]{folder}[/bold] "
        f"({artifact.forest.num_trees} trees, hash {artifact.model_hash})"
    )
    _print_metrics(metrics, "validation (later period)")


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option("--model", help="Model folder.")],
    data: DataOpt,
    spec: TrainedSpecOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the PNG and the table (default: the model folder)."),
    ] = None,
    prepare: TrainedPrepareOpt = None,
) -> None:
    """Precision/recall at 1-10 % inspection rates, AUC-PR, calibration, PNG curve."""
    try:
        artifact = load_model(model)
        spec_path = spec or Path(str(artifact.card.get("spec", "")))
        prep = bool(artifact.card.get("prepared")) if prepare is None else prepare
        frame, recipe, inputs = read_history(data, spec_path, prepare=prep)
        rows = labelled_rows(frame, recipe, what="evaluation data")
        scores = artifact.forest.predict(artifact.plan.matrix(rows))
        metrics = evaluate_scores(rows.get_column("__label").to_numpy(), scores)
        folder = out or model
        folder.mkdir(parents=True, exist_ok=True)
        png = plot_precision_curve(
            metrics,
            folder / "evaluation_precision_at_capacity.png",
            title=f"evaluation on {', '.join(p.name for p in data)}",
        )
        table = pl.DataFrame(
            precision_table(metrics),
            schema=["rate", "inspected", "precision", "recall"],
            orient="row",
        )
        table.write_csv(folder / "evaluation_precision_at_capacity.csv")
        _record_evaluation(model, data, inputs, metrics)
    except LookoutError as err:
        raise _fail(err) from None
    _print_metrics(metrics, f"evaluation on {', '.join(str(p) for p in data)}")
    console.print(f"curve: {png}")


@app.command()
def card(model: Annotated[Path, typer.Argument(help="Model folder.")]) -> None:
    """Show a model's card: windows, features, metrics, versions."""
    try:
        artifact = load_model(model)
    except LookoutError as err:
        raise _fail(err) from None
    c = artifact.card
    console.print(
        f"[bold]{c.get('name')}[/bold]  hash {artifact.model_hash}  "
        f"trained {c.get('trained_at')}  ({artifact.forest.num_trees} trees)"
    )
    for key in ("training_window", "validation_window"):
        console.print(f"{key}: {c.get(key)}")
    console.print(f"features ({len(c['features'])}): {', '.join(c['features'])}")
    console.print(f"versions: {c.get('versions')}")
    reference = artifact.drift_reference()
    console.print(
        f"drift reference: {reference.rows:,} rows filed {reference.window.get('from')} – "
        f"{reference.window.get('to')}"
        if reference is not None
        else "drift reference: none (add one with `lookout model reference DIR --data ...`)"
    )
    _print_metrics(c["metrics"], "validation")
    for ev in c.get("evaluations", []):
        _print_metrics(ev["metrics"], f"evaluation on {', '.join(ev['data'])}")


@app.command()
def reference(
    model: Annotated[Path, typer.Argument(help="Model folder.")],
    data: DataOpt,
    spec: TrainedSpecOpt = None,
    prepare: TrainedPrepareOpt = None,
    any_data: Annotated[
        bool,
        typer.Option(
            "--any-data",
            help="Accept data whose batch id differs from the card's training data hash.",
        ),
    ] = False,
) -> None:
    """(Re)compute the drift reference of a model from its training data; only card.json
    changes (model.txt and the model hash stay as they are)."""
    try:
        artifact = load_model(model)
        spec_path = spec or Path(str(artifact.card.get("spec", "")))
        prep = bool(artifact.card.get("prepared")) if prepare is None else prepare
        frame, recipe, inputs = read_history(data, spec_path, prepare=prep)
        trained_on = str(artifact.card.get("data_hash", ""))
        if not any_data and trained_on and trained_on not in inputs.ids:
            raise TrainingDataError(
                f"these files (batch {inputs.id[:12]}) are not the model's training data "
                f"(data_hash {trained_on[:12]} in {model / CARD_FILE})",
                hint="pass the files the model was trained on, or --any-data to use others",
            )
        ref = fit_reference(frame, artifact.plan, artifact.forest, artifact.card, recipe.time)
    except LookoutError as err:
        raise _fail(err) from None
    path = model / CARD_FILE
    card_data = json.loads(path.read_text(encoding="utf-8"))
    card_data["drift_reference"] = ref.to_dict()
    path.write_text(json.dumps(card_data, indent=1, default=str) + "\n", encoding="utf-8")
    console.print(
        f"drift reference written to [bold]{path}[/bold]: {ref.rows:,} rows filed "
        f"{ref.window.get('from')} – {ref.window.get('to')}, {len(ref.features)} features"
    )


def _record_evaluation(
    model: Path, data: list[Path], inputs: BatchIdentity, metrics: dict[str, Any]
) -> None:
    """Add an evaluation to the card, replacing an earlier one on the same data (whichever
    version recorded it)."""
    path = model / CARD_FILE
    card_data = json.loads(path.read_text(encoding="utf-8"))
    runs = [e for e in card_data.get("evaluations", []) if e.get("data_hash") not in inputs.ids]
    runs.append({"data": [str(p) for p in data], "data_hash": inputs.id, "metrics": metrics})
    card_data["evaluations"] = runs
    path.write_text(json.dumps(card_data, indent=1, default=str) + "\n", encoding="utf-8")


def _print_metrics(metrics: dict[str, Any], title: str) -> None:
    table = Table(title=f"{title}: {metrics['rows']} rows, {metrics['positives']} positives")
    for col in ("inspection rate", "inspected", "precision", "recall"):
        table.add_column(col, justify="right")
    for rate, k, precision, recall in precision_table(metrics):
        table.add_row(rate, str(k), f"{precision:.3f}", f"{recall:.3f}")
    console.print(table)
    console.print(
        f"AUC-PR {metrics['average_precision']:.3f}   ROC AUC {metrics['roc_auc']:.3f}"
        f"   Brier {metrics['brier']:.4f}"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
