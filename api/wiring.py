"""Wire the concrete stages (rules, model, history, watchlists) into an engine Scorer.

The engine knows only the Stage protocols; this module, at the top of the dependency
graph, is where the shipped defaults are chosen. The CLI and the HTTP service both build
their scorer here, so a batch scores the same whichever door it came in by.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.policy import ScoringPolicy
from engine.reference import ReferenceData
from engine.scorer import Scorer
from engine.stages import Stage

SHIPPED_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"


def build_scorer(
    *,
    rules_dir: Path | None = None,
    model_dir: Path | None = None,
    policy_path: Path | None = None,
    history_dir: Path | None = None,
    watchlists: Sequence[Path] | None = None,
    watchlist_cache: Path | None = None,
    reference_dir: Path | None = None,
    use_rules: bool = True,
    use_model: bool = True,
    append_history: bool = True,
) -> Scorer:
    """A scorer from paths; ``None`` means the shipped default for rules, model, policy and
    watchlists (the UN Security Council consolidated list); ``watchlists=()`` screens nothing.
    Party screening results are cached on disk in ``watchlist_cache``, by default in the
    history store (``watchlist-cache/``) when one is given.

    ``use_rules=False`` / ``use_model=False`` leave that stage out entirely (e.g. a data set
    for which only a model exists); ``append_history=False`` scores without adding the batch
    to the history store (re-scoring).
    """
    from rules import load_pack

    refs = ReferenceData.load(reference_dir)
    enrichers: list[Stage] = []
    if history_dir is not None:
        from engine.history import HistoryFeatures, HistoryStore

        enrichers.append(HistoryFeatures(HistoryStore(history_dir)))
    from engine.watchlist import UN_LIST_PATH, WATCHLIST_CACHE, Watchlist, WatchlistStage

    lists = [UN_LIST_PATH] if watchlists is None else list(watchlists)
    if lists:
        # screening results are cached per list version beside the history they serve
        cache = watchlist_cache
        if cache is None and history_dir is not None:
            cache = history_dir / WATCHLIST_CACHE
        enrichers.append(WatchlistStage(Watchlist.load(lists), cache_dir=cache))
    pack = (load_pack(rules_dir) if rules_dir else load_pack()) if use_rules else None
    model = None
    if use_model:
        chosen = model_dir or (
            SHIPPED_MODEL_DIR if (SHIPPED_MODEL_DIR / "card.json").is_file() else None
        )
        if chosen is not None:
            from models import ModelStage, load_model

            model = ModelStage(load_model(chosen))
    return Scorer(
        refs=refs,
        policy=ScoringPolicy.load(policy_path),
        rules=pack,
        model=model,
        enrichers=tuple(enrichers),
        append_history=append_history,
    )


def require_history_if_model_needs_it(scorer: Scorer) -> None:
    """Say before any row is read that the model needs a history store, and how to give one."""
    from engine.errors import PipelineError
    from engine.history import HISTORY_COLUMNS, HistoryFeatures
    from engine.i18n import N_

    model = scorer.model
    if model is None or any(isinstance(s, HistoryFeatures) for s in scorer.enrichers):
        return
    plan = getattr(getattr(model, "artifact", None), "plan", None)
    needed = [c for c in (plan.source_columns() if plan else []) if c in HISTORY_COLUMNS]
    if needed:
        raise PipelineError(
            N_(
                "the model uses history features ({features}) and no history store was given",
                features=", ".join(needed[:4]) + (", …" if len(needed) > 4 else ""),
            ),
            hint=N_(
                "pass --history DIR (a store filled with `lookout history add FILE`), "
                "or --no-model to score with the rules alone"
            ),
        )
