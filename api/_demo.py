"""`lookout demo`: the whole daily loop on embedded defaults, in one command.

1. generate a deterministic demo world: 150 days of labelled history (4,000 lines a day: the
   first 90 give party ages a baseline, see FIRST_SEEN_LOOKBACK_DAYS) and one day's manifest;
2. load the history into a history store (idempotent: a second run adds nothing);
3. score the manifest with the shipped rules, model and policy, history features and the
   shipped UN Security Council list;
4. print the summary and where the outputs went;
5. the same for air cargo: an air waybill day (AIR_ROWS_PER_DAY) with its labelled air
   history in the same store, scored into ``run-air`` with the same rules, model and lists.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.console import Console

from api._summary import print_summary
from api.i18n import format_number, gettext
from api.wiring import build_scorer
from engine.identity import batch_identity
from engine.pipeline import run_batch
from engine.policy import Capacity

DEMO_SEED = 7
HISTORY_DAYS = 150
HISTORY_ROWS_PER_DAY = 4_000
AIR_ROWS_PER_DAY = 400


def run_demo(console: Console, *, out: Path, rows: int) -> None:
    from engine.generate import generate, write_national_watchlist
    from engine.history import HistoryStore
    from engine.watchlist import UN_LIST_PATH

    data = out / "data"
    with console.status("generating the demo manifest and history"):
        generated = generate(
            days=1,
            rows_per_day=rows,
            seed=DEMO_SEED,
            out_dir=data,
            history_days=HISTORY_DAYS,
            history_rows_per_day=HISTORY_ROWS_PER_DAY,
            universe_rows=rows,
            formats=("csv",),
            air_rows_per_day=AIR_ROWS_PER_DAY,
        )
    assert generated.history is not None  # history_days > 0
    history_dir = out / "history"
    store = HistoryStore(history_dir)
    with console.status("loading the history store"):
        added = store.append(
            pl.read_parquet(generated.history),
            batch_id=f"demo-history-seed{DEMO_SEED}",
            identity=batch_identity([generated.history]),
        )
    if generated.air_history is not None:
        added += store.append(
            pl.read_parquet(generated.air_history),
            batch_id=f"demo-air-history-seed{DEMO_SEED}",
            identity=batch_identity([generated.air_history]),
        )
    console.print(
        gettext("history: {n} rows added to {path}").format(
            n=format_number(added), path=history_dir
        )
        if added
        else gettext("history: already loaded in {path}").format(path=history_dir)
    )
    manifest = generated.manifests[0]
    # The demo's national list: the names the generator perturbs into look-alike parties.
    national = data / "national-watchlist.csv"
    write_national_watchlist(national, list_name="DEMO-NATIONAL", reference_prefix="DN")
    scorer = build_scorer(history_dir=history_dir, watchlists=[UN_LIST_PATH, national])
    console.print(
        gettext("scoring [bold]{path}[/bold] ({n} lines) with the shipped rules and model").format(
            path=manifest, n=format_number(rows)
        )
    )
    record = run_batch(
        manifest, scorer=scorer, out_dir=out / "run", capacity=Capacity.parse("2%"), seed=DEMO_SEED
    )
    print_summary(console, record, out / "run")
    air = generated.air_manifests[0]
    console.print(
        gettext(
            "scoring [bold]{path}[/bold] ({n} air waybills) with the same rules and model"
        ).format(path=air, n=format_number(AIR_ROWS_PER_DAY))
    )
    air_record = run_batch(
        air, scorer=scorer, out_dir=out / "run-air", capacity=Capacity.parse("2%"), seed=DEMO_SEED
    )
    print_summary(console, air_record, out / "run-air")
