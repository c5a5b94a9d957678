"""`lookout history …` and `lookout watchlist …`: the history store and screening lists.

Two Typer groups, mounted by the top-level CLI (``api/cli.py``): ``history_app`` (add a
manifest to the store, record inspection outcomes, show what the store holds) and
``watchlist_app`` (show the loaded lists, screen a manifest). LookoutErrors propagate to
the entry point, which prints them as ``where: what`` plus a hint.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from api.i18n import _N, current_locale, format_number, gettext
from engine.errors import Location, LookoutError
from engine.i18n import N_, localised_value
from engine.identity import short_id

if TYPE_CHECKING:  # imported lazily at run time so `lookout --help` stays fast
    from engine.history import HistoryStore
    from engine.watchlist import Watchlist

history_app = typer.Typer(no_args_is_help=True, help="The entity history store.")
watchlist_app = typer.Typer(no_args_is_help=True, help="Watchlists and screening.")
app = typer.Typer(no_args_is_help=True, help="History store and watchlist commands.")
app.add_typer(history_app, name="history")
app.add_typer(watchlist_app, name="watchlist")
console = Console(soft_wrap=True)

_PARTY_ROLES = {
    "shipper": _N("shipper"),
    "consignee": _N("consignee"),
    "notify": _N("notify party"),
}
DEFAULT_STORE = Path("data") / "history"
"""Where the CLI keeps the history store unless told otherwise (relative to the cwd)."""
StoreOption = Annotated[Path, typer.Option("--store", help="History store folder.")]
SpecOption = Annotated[
    str | None, typer.Option(help="Dataset spec YAML (default: the canonical column names).")
]
ListOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--list",
        help="Watchlist file (UN SC .xml or national .csv); repeatable. "
        "Default: the shipped UN SC consolidated list.",
    ),
]


def _read_manifest(source: str, spec: str | None) -> pl.DataFrame:
    from engine.ingest import read_frame
    from engine.spec import load_spec

    rows, quarantine = read_frame(source, load_spec(spec) if spec else None)
    if quarantine.height:
        console.print(
            "[yellow]"
            + gettext("{n} record(s) quarantined while reading {source}").format(
                n=format_number(quarantine.height), source=source
            )
            + "[/yellow] "
            + gettext("(not added)")
        )
    return rows


@history_app.command("add")
def history_add(
    source: Annotated[str, typer.Argument(help="Manifest file, or a quoted glob.")],
    store: StoreOption = DEFAULT_STORE,
    spec: SpecOption = None,
    batch_id: Annotated[
        str | None,
        typer.Option(
            help="Name the batch (default: its content id, as `lookout score` computes it)."
        ),
    ] = None,
) -> None:
    """Append a manifest to the history store (the same files twice are added once).

    The batch is known by its content id whatever name it is given, so `lookout score` of
    the same files later leaves these rows out of its history and does not add them again.
    """
    from engine.history import HistoryStore, describe_batch
    from engine.identity import batch_identity
    from engine.ingest import expand_inputs

    history = HistoryStore(store)
    identity = batch_identity(expand_inputs(source))
    chosen = batch_id or identity.id
    known = {chosen, *identity.ids}
    stored = history.stored_batch(known)
    if stored is None:
        rows = _read_manifest(source, spec)
        added = history.append(rows, batch_id=chosen, identity=identity)
        if added or not rows.height:
            console.print(
                gettext("added {n} rows as batch {batch}").format(
                    n=format_number(added), batch=chosen
                )
            )
        else:  # another writer stored the same batch meanwhile
            stored = history.stored_batch(known)
    if stored is not None:
        known_as = describe_batch(stored, asked=chosen)
        console.print(
            gettext("batch {batch} is already in the store ({known_as}); nothing added").format(
                batch=short_id(chosen), known_as=known_as
            )
        )
    _print_store(history)


@history_app.command("outcomes")
def history_outcomes(
    source: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet with container_number and bl_number (or, for air "
            "waybills, awb_number[, house_awb_number]), inspection_result[, finding_type]."
        ),
    ],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Record inspection outcomes for stored rows (the latest outcome per row wins)."""
    from engine.history import HistoryStore

    if not source.is_file():
        raise LookoutError(N_("outcomes file not found"), location=Location(file=str(source)))
    suffix = source.suffix.lower()
    if suffix == ".csv":
        frame = pl.read_csv(source, infer_schema=False)
        if "inspected" in frame.columns:
            frame = frame.with_columns(
                pl.col("inspected").str.to_lowercase().is_in(["true", "1", "yes"])
            )
        for name in ("recorded_at", "inspected_at"):
            if name in frame.columns:
                frame = _parse_time(frame, name, source)
    elif suffix == ".parquet":
        frame = pl.read_parquet(source)
    else:
        raise LookoutError(
            N_("unknown outcomes format '{suffix}'", suffix=suffix),
            location=Location(file=str(source)),
            hint=N_("use .csv or .parquet"),
        )
    history = HistoryStore(store)
    matched = history.append_outcomes(frame)
    console.print(
        gettext("recorded {n} outcome(s); {matched} stored row(s) matched").format(
            n=format_number(frame.height), matched=format_number(matched)
        )
    )


def _parse_time(frame: pl.DataFrame, name: str, source: Path) -> pl.DataFrame:
    """``name`` parsed as a UTC timestamp; a value that does not parse is an error, not null."""
    parsed = pl.col(name).str.to_datetime(time_zone="UTC", strict=False)
    bad = frame.select((pl.col(name).is_not_null() & parsed.is_null()).arg_true()).to_series()
    if bad.len():
        row = int(bad[0])
        raise LookoutError(
            N_(
                "{n} value(s) of '{name}' are not timestamps, e.g. {value!r}",
                n=bad.len(),
                name=name,
                value=frame[name][row],
            ),
            location=Location(file=str(source), line=row + 2, field=name),
            hint=N_("write times as ISO 8601, e.g. 2026-10-20T10:00:00Z"),
        )
    return frame.with_columns(parsed)


@history_app.command("info")
def history_info(store: StoreOption = DEFAULT_STORE) -> None:
    """Show the store's batches, row count and snapshot hash."""
    from engine.history import HistoryStore

    _print_store(HistoryStore(store))


def _print_store(history: HistoryStore) -> None:
    fp = history.fingerprint()
    console.print(
        gettext(
            "store {root}: {rows} rows in {batches} batch(es), {outcomes} outcome file(s), "
            "snapshot {snapshot}"
        ).format(
            root=history.root,
            rows=format_number(fp["rows"]),
            batches=fp["batches"],
            outcomes=fp["outcome_files"],
            snapshot=short_id(fp["snapshot"]),
        )
    )


def _load_lists(lists: list[Path] | None) -> Watchlist:
    from engine.watchlist import UN_LIST_PATH, Watchlist

    return Watchlist.load(lists or [UN_LIST_PATH])


@watchlist_app.command("info")
def watchlist_info(lists: ListOption = None) -> None:
    """Show the entries and names loaded from each list."""
    watchlist = _load_lists(lists)
    table = Table(gettext("list"), gettext("kind"), gettext("entries"), gettext("names"))
    for row in watchlist.summary().iter_rows():  # a handful of summary rows, for display
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    console.print(table)
    for source in watchlist.sources:
        console.print(f"{source['format']}: {source['path']} sha256 {short_id(source['sha256'])}")


@watchlist_app.command("screen")
def watchlist_screen(
    source: Annotated[str, typer.Argument(help="Manifest file, or a quoted glob.")],
    lists: ListOption = None,
    spec: SpecOption = None,
    threshold: Annotated[float | None, typer.Option(help="Party score threshold 0-100.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write every row's result (.csv/.parquet).")
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Keep screening results here (per list version) for the next run."),
    ] = None,
    show: Annotated[int, typer.Option(help="Hits to print.")] = 20,
) -> None:
    """Screen a manifest's parties, vessels and containers against watchlists."""
    from engine.watchlist import DEFAULT_THRESHOLD, WATCHLIST_COLUMNS, WatchlistStage

    watchlist = _load_lists(lists)
    stage = WatchlistStage(watchlist, threshold=threshold or DEFAULT_THRESHOLD, cache_dir=cache)
    rows = _read_manifest(source, spec)
    result = stage.apply(rows)
    hits = result.filter(
        (pl.col("watchlist_party_score") >= stage.threshold)
        | pl.col("watchlist_vessel_hit")
        | pl.col("watchlist_vessel_name_hit")
        | pl.col("watchlist_container_hit")
    )
    console.print(
        gettext(
            "{rows} rows screened; {hits} with a watchlist hit (threshold {threshold}); "
            "{misses} new name(s) screened, {cached} from the cache"
        ).format(
            rows=format_number(rows.height),
            hits=format_number(hits.height),
            threshold=f"{stage.threshold:g}",
            misses=format_number(stage.cache.misses),
            cached=format_number(stage.cache.hits),
        )
    )
    ids = [c for c in ("container_number", "bl_number") if c in result.columns]
    table = Table(*ids, gettext("score"), gettext("role"), gettext("entry and why"))
    shown = hits.sort("watchlist_party_score", descending=True).head(show)
    locale = current_locale()
    for row in shown.select(*ids, *WATCHLIST_COLUMNS).iter_rows(named=True):  # display only
        lines = [
            f"{row['watchlist_entry']}\n  "
            + localised_value("watchlist_party_match", row["watchlist_party_match"], locale)
            if row["watchlist_entry"]
            else "",
            (gettext("vessel (by name)") if row["watchlist_vessel_name_hit"] else gettext("vessel"))
            + f": {row['watchlist_vessel_entry']}"
            if row["watchlist_vessel_entry"]
            else "",
            gettext("container") + f": {row['watchlist_container_entry']}"
            if row["watchlist_container_entry"]
            else "",
        ]
        table.add_row(
            *(str(row[c]) for c in ids),
            f"{row['watchlist_party_score']:.0f}",
            gettext(_PARTY_ROLES.get(row["watchlist_party_role"] or "", ""))
            or str(row["watchlist_party_role"] or ""),
            "\n".join(line for line in lines if line),
        )
    if shown.height:
        console.print(table)
    if out is not None:
        chosen = result.select(*ids, *WATCHLIST_COLUMNS)
        if out.suffix.lower() == ".parquet":
            chosen.write_parquet(out)
        else:
            chosen.write_csv(out)
        console.print(gettext("results written to {path}").format(path=out))
