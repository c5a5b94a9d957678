"""engine: the vectorised core of Lookout — schema, ingest, validation, reference data,
enrichment, history, watchlists, scoring pipeline, policy, selection and run records.

``engine`` knows nothing of HTTP, of the rule language or of LightGBM: rules and models
plug in through the protocols in :mod:`engine.stages`.

>>> from engine import ReferenceData, Scorer, ScoringPolicy, run_batch
>>> scorer = Scorer(refs=ReferenceData.load(), policy=ScoringPolicy.load())  # doctest: +SKIP
>>> record = run_batch("manifest.csv", scorer=scorer, out_dir=Path("out"))    # doctest: +SKIP
"""

from engine.errors import (
    IngestError,
    Location,
    LookoutError,
    PipelineError,
    ReferenceDataError,
    SpecError,
)
from engine.ingest import read_chunks, read_frame
from engine.pipeline import Scorer, prepare, run_batch
from engine.policy import Capacity, ScoringPolicy, combine, select
from engine.record import RunRecord
from engine.reference import ReferenceData
from engine.schema import CANONICAL, DERIVED, OUTPUTS, known_fields
from engine.spec import DatasetSpec, load_spec
from engine.stages import ExplainingStage, Stage

__all__ = [
    "CANONICAL",
    "DERIVED",
    "OUTPUTS",
    "Capacity",
    "DatasetSpec",
    "ExplainingStage",
    "IngestError",
    "Location",
    "LookoutError",
    "PipelineError",
    "ReferenceData",
    "ReferenceDataError",
    "RunRecord",
    "Scorer",
    "ScoringPolicy",
    "SpecError",
    "Stage",
    "combine",
    "known_fields",
    "load_spec",
    "prepare",
    "read_chunks",
    "read_frame",
    "run_batch",
    "select",
]
