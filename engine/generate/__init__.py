"""Demo data: realistic daily cargo manifests, a labelled inspection history, and the truth.

A run writes, under ``out_dir``::

    manifests/manifest_YYYY-MM-DD.csv   one per day (and/or .parquet): canonical columns only
    truth/truth_YYYY-MM-DD.parquet       the planted rows of that manifest and their typology
    history.parquet                      ``history_days`` earlier days, with inspection labels
    history_truth.parquet                the planted rows of the history

The traffic is that of a Central Asia / Caucasus Port Control Unit: consignees in UZ, KZ,
KG, TJ, TM, AZ, GE, … receiving through gateway seaports (Poti, Batumi, Mersin, Bandar
Abbas, Karachi, Lianyungang, Novorossiysk, Aktau, …) from real UN/LOCODE loading ports, with
real HS 2022 goods, recurring trading partners, valid ISO 6346 container numbers (about
0.5 % mistyped) and valid IMO numbers. Smuggling typologies are planted at configurable rates
(:class:`TypologyRates`) and recorded only in the truth files. Everything is drawn with
numpy and assembled with polars (no per-row Python): a million manifest rows cost about
20 CPU-seconds; the same seed gives byte-identical files, whatever the thread count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from engine.errors import Location
from engine.generate._air import AIR_TYPOLOGIES, AirRates, air_day, build_air_universe
from engine.generate._assemble import MANIFEST_COLUMNS, assemble
from engine.generate._day import base_draw, build_universe, derive
from engine.generate._draw import TYPOLOGIES, Universe
from engine.generate._errors import GeneratorError
from engine.generate._labels import FINDINGS, RESULTS, inspect, planted_findings
from engine.generate._typologies import TypologyRates, choose_groups, plant_numbers, plant_routes
from engine.generate._watchlist import default_watchlist_names, write_national_watchlist
from engine.generate._words import DEMO_WATCHLIST_NAMES
from engine.generate._world import World, load_world
from engine.schema import CANONICAL

DEFAULT_START = date(2026, 11, 27)
FORMATS = ("csv", "parquet")
CSV_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
LIST_SEPARATOR = ";"
TRUTH_KEYS = ("row_index", "container_number", "bl_number", "house_bl_number")

__all__ = [
    "AIR_TYPOLOGIES",
    "DEFAULT_START",
    "DEMO_WATCHLIST_NAMES",
    "TYPOLOGIES",
    "AirRates",
    "GeneratedData",
    "GeneratorError",
    "TypologyRates",
    "default_watchlist_names",
    "generate",
    "to_csv_frame",
    "write_national_watchlist",
]


@dataclass(frozen=True)
class GeneratedData:
    """What :func:`generate` wrote: paths, dates and counts.

    ``manifests`` lists every manifest file (CSV and/or Parquet, per day); ``truth`` one
    Parquet file per manifest day; ``history``/``history_truth`` are None without history
    days. ``typology_counts`` counts planted manifest rows per typology; the ``history_*``
    counts describe the labelled history (``history_positive`` = seizure or irregularity).
    """

    out_dir: Path
    dates: list[date]
    manifests: list[Path]
    truth: list[Path]
    history: Path | None
    history_truth: Path | None
    manifest_rows: int
    manifest_planted_rows: int
    history_rows: int
    history_planted_rows: int
    history_inspected: int
    history_positive: int
    typology_counts: dict[str, int] = field(default_factory=dict)
    air_manifests: list[Path] = field(default_factory=list)
    air_truth: list[Path] = field(default_factory=list)
    air_history: Path | None = None


def _check_rows(name: str, value: int) -> None:
    if value < 1:
        raise GeneratorError(
            f"{name}={value} must be at least 1",
            location=Location(field=name),
            hint=f"e.g. {name}=2000",
        )


def _check(
    days: int,
    rows_per_day: int,
    history_days: int,
    formats: Sequence[str],
    watchlist_names: Sequence[str] | None,
    seed: int,
) -> None:
    def bad(name: str, message: str, hint: str) -> GeneratorError:
        return GeneratorError(message, location=Location(field=name), hint=hint)

    if days < 0 or history_days < 0:
        raise bad(
            "days",
            f"days={days}, history_days={history_days}: must not be negative",
            "pass 0 or more days",
        )
    if days == 0 and history_days == 0:
        raise bad(
            "days",
            "nothing to generate: days and history_days are both 0",
            "ask for at least one manifest or history day",
        )
    if not isinstance(seed, int) or seed < 0:
        raise bad("seed", f"seed={seed!r} must be a non-negative integer", "e.g. seed=42")
    _check_rows("rows_per_day", rows_per_day)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise bad(
            "formats",
            f"unknown output formats {unknown or '(none given)'}",
            f"choose from {', '.join(FORMATS)}",
        )
    if watchlist_names is not None and not [n for n in watchlist_names if n.strip()]:
        raise bad(
            "watchlist_names",
            "the watchlist name list is empty",
            "pass None to use the demo names, or at least one name",
        )


def generate(
    *,
    days: int,
    rows_per_day: int,
    seed: int,
    out_dir: Path,
    history_days: int = 0,
    formats: Sequence[str] = ("csv",),
    start: date = DEFAULT_START,
    rates: TypologyRates | None = None,
    watchlist_names: Sequence[str] | None = None,
    history_rows_per_day: int | None = None,
    universe_rows: int | None = None,
    air_rows_per_day: int = 0,
    air_rates: AirRates | None = None,
) -> GeneratedData:
    """Write ``days`` daily manifests from ``start`` and ``history_days`` days of history.

    ``history_rows_per_day`` (default ``rows_per_day``) sizes each history day;
    ``universe_rows`` (default ``rows_per_day``) sizes the party pools and fleet as for a
    feed of that many lines a day — a large batch drawn from a smaller universe repeats its
    traders the way a real national feed does.

    ``rates`` sets how often each smuggling typology is planted (share of rows);
    ``watchlist_names`` are the names sanctioned-party look-alikes are perturbed from
    (default: :func:`default_watchlist_names`, the trading entities of the shipped UN list).
    The same arguments always give byte-identical files.

    ``air_rows_per_day`` > 0 adds an air cargo day per manifest day (``air/awb_DATE.csv``
    and/or ``.parquet``, truth ``air/truth_DATE.parquet``) and labelled air history
    (``air_history.parquet``), drawn from streams of their own: the sea files are the same
    with or without air traffic.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = generate(days=1, rows_per_day=50, seed=7, out_dir=Path(tmp))
    >>> out.manifest_rows, out.manifests[0].name
    (50, 'manifest_2026-11-27.csv')
    """
    history_rows = rows_per_day if history_rows_per_day is None else history_rows_per_day
    universe = rows_per_day if universe_rows is None else universe_rows
    _check(days, rows_per_day, history_days, formats, watchlist_names, seed)
    _check_rows("history_rows_per_day", history_rows)
    _check_rows("universe_rows", universe)
    if air_rows_per_day < 0:
        raise GeneratorError(
            f"air_rows_per_day={air_rows_per_day} must not be negative",
            location=Location(field="air_rows_per_day"),
            hint="0 (no air cargo) or more",
        )
    rates = rates or TypologyRates()
    out_dir = Path(out_dir)
    world = load_world()
    source = default_watchlist_names() if watchlist_names is None else watchlist_names
    names = [n.strip().upper() for n in source if n.strip()]
    uni = build_universe(
        world,
        rows_per_day=universe,
        timeline_days=history_days + days,
        seed=seed,
        watchlist_names=names,
    )
    try:
        (out_dir / "manifests").mkdir(parents=True, exist_ok=True)
        (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GeneratorError(
            f"cannot create the output folders: {err.strerror}",
            location=Location(file=str(out_dir)),
            hint="choose a folder you can write to",
        ) from err

    counts = dict.fromkeys(TYPOLOGIES, 0)
    history_frames: list[pl.DataFrame] = []
    history_truth: list[pl.DataFrame] = []
    for t in range(history_days):
        day = start - timedelta(days=history_days - t)
        frame, truth = _day(world, uni, rates, seed, t, day, history_rows, labelled=True)
        history_frames.append(frame)
        history_truth.append(truth)
    history_path = truth_path = None
    inspected = positive = planted_history = 0
    if history_frames:
        history = pl.concat(history_frames)
        history_path = out_dir / "history.parquet"
        history.write_parquet(history_path, compression="zstd", statistics=True)
        truth_all = pl.concat(history_truth)
        truth_path = out_dir / "history_truth.parquet"
        truth_all.write_parquet(truth_path, compression="zstd")
        inspected = int(history["inspected"].sum())
        positive = int(history["inspection_result"].is_in(["seizure", "irregularity"]).sum())
        planted_history = truth_all.height

    manifests: list[Path] = []
    truths: list[Path] = []
    dates: list[date] = []
    planted = 0
    for k in range(days):
        day = start + timedelta(days=k)
        frame, truth = _day(
            world, uni, rates, seed, history_days + k, day, rows_per_day, labelled=False
        )
        stem = f"manifest_{day.isoformat()}"
        if "csv" in formats:
            manifests.append(out_dir / "manifests" / f"{stem}.csv")
            to_csv_frame(frame).write_csv(manifests[-1])
        if "parquet" in formats:
            manifests.append(out_dir / "manifests" / f"{stem}.parquet")
            frame.write_parquet(manifests[-1], compression="zstd", statistics=True)
        truths.append(out_dir / "truth" / f"truth_{day.isoformat()}.parquet")
        truth.write_parquet(truths[-1], compression="zstd")
        dates.append(day)
        planted += truth.height
        for name, n in truth["typology"].value_counts().iter_rows():
            counts[name] += n

    air = _air(out_dir, seed, start, days, history_days, formats, air_rows_per_day, air_rates)
    return GeneratedData(
        out_dir=out_dir,
        dates=dates,
        manifests=manifests,
        truth=truths,
        history=history_path,
        history_truth=truth_path,
        manifest_rows=days * rows_per_day,
        manifest_planted_rows=planted,
        history_rows=history_days * history_rows,
        history_planted_rows=planted_history,
        history_inspected=inspected,
        history_positive=positive,
        typology_counts=counts,
        air_manifests=air[0],
        air_truth=air[1],
        air_history=air[2],
    )


def _air(
    out_dir: Path,
    seed: int,
    start: date,
    days: int,
    history_days: int,
    formats: Sequence[str],
    rows: int,
    rates: AirRates | None,
) -> tuple[list[Path], list[Path], Path | None]:
    """The air cargo days: manifests, truth and labelled history (nothing when rows is 0)."""
    if rows <= 0:
        return [], [], None
    rates = rates or AirRates()
    uni = build_air_universe(seed, rows, history_days + days)
    (out_dir / "air").mkdir(parents=True, exist_ok=True)
    history = None
    if history_days:
        frames = [
            air_day(
                uni, rates, seed, t, start - timedelta(days=history_days - t), rows, labelled=True
            )[0]
            for t in range(history_days)
        ]
        history = out_dir / "air_history.parquet"
        pl.concat(frames).write_parquet(history, compression="zstd", statistics=True)
    manifests: list[Path] = []
    truths: list[Path] = []
    for k in range(days):
        day = start + timedelta(days=k)
        frame, truth = air_day(uni, rates, seed, history_days + k, day, rows, labelled=False)
        if "csv" in formats:
            manifests.append(out_dir / "air" / f"awb_{day.isoformat()}.csv")
            to_csv_frame(frame).write_csv(manifests[-1])
        if "parquet" in formats:
            manifests.append(out_dir / "air" / f"awb_{day.isoformat()}.parquet")
            frame.write_parquet(manifests[-1], compression="zstd", statistics=True)
        truths.append(out_dir / "air" / f"truth_{day.isoformat()}.parquet")
        truth.write_parquet(truths[-1], compression="zstd")
    return manifests, truths, history


def _day(
    world: World,
    uni: Universe,
    rates: TypologyRates,
    seed: int,
    t: int,
    day: date,
    rows: int,
    *,
    labelled: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One day's manifest frame (with labels if ``labelled``) and its truth rows."""
    rng = np.random.default_rng([seed, day.toordinal()])
    draw = base_draw(world, uni, rng, t=t, day_ordinal=day.toordinal(), rows=rows)
    choose_groups(draw, rng, rates)
    plant_routes(world, uni, draw, rng)
    derive(world, uni, draw, rng)
    plant_numbers(world, draw, rng)
    finding = planted_findings(draw, rng)
    frame = assemble(world, uni, draw, rng)
    planted = draw.typology >= 0
    truth = frame.select(TRUTH_KEYS[1:]).with_columns(
        row_index=pl.int_range(0, rows, dtype=pl.Int64),
        manifest_date=pl.lit(day),
        typology=pl.Series(np.asarray((*TYPOLOGIES, ""))[draw.typology]),
        finding_type=pl.Series(np.asarray((*FINDINGS, ""))[finding]),
    )
    if labelled:
        inspected, result, found = inspect(world, uni, draw, rng, t, finding)
        frame = frame.with_columns(
            inspected=pl.Series(inspected, dtype=CANONICAL["inspected"].dtype),
            inspection_result=pl.when(pl.Series(inspected)).then(
                pl.Series(np.asarray(RESULTS)[result])
            ),
            finding_type=pl.when(pl.Series(found >= 0)).then(
                pl.Series(np.asarray((*FINDINGS, ""))[found])
            ),
        )
        # The result is known after the box arrived and was examined: 2-72 h after arrival.
        lag = pl.Series(rng.integers(2, 73, size=rows), dtype=pl.Int64)
        frame = frame.with_columns(
            inspected_at=pl.when(pl.col("inspected")).then(
                pl.coalesce("arrival_eta", "filed_at") + pl.duration(hours=pl.lit(lag))
            )
        )
        truth = truth.with_columns(
            inspected=frame["inspected"], inspection_result=frame["inspection_result"]
        )
    truth = truth.filter(pl.Series(planted)).select(
        "manifest_date",
        *TRUTH_KEYS,
        "typology",
        "finding_type",
        *(["inspected", "inspection_result"] if labelled else []),
    )
    return frame, truth


def to_csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The text form of a canonical frame: lists joined by ';', times as ISO 8601 UTC."""
    return frame.with_columns(
        [
            pl.col(n).list.join(LIST_SEPARATOR)
            for n, f in CANONICAL.items()
            if n in frame.columns and f.role == "list"
        ]
        + [
            pl.col(n).dt.strftime(CSV_DATETIME_FORMAT)
            for n, f in CANONICAL.items()
            if n in frame.columns and f.role == "time"
        ]
    )


assert set(MANIFEST_COLUMNS) <= set(CANONICAL)
