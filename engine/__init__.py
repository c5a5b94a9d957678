"""engine: the vectorised core of Lookout — schema, ingest, validation, reference data,
enrichment, history, watchlists, scoring pipeline, policy, selection and run records.

``engine`` knows nothing of HTTP, of the rule language or of LightGBM: rules and models
plug in through the protocols in :mod:`engine.stages`.

>>> from engine import ReferenceData, Scorer, ScoringPolicy, run_batch
>>> scorer = Scorer(refs=ReferenceData.load(), policy=ScoringPolicy.load())  # doctest: +SKIP
>>> record = run_batch("manifest.csv", scorer=scorer, out_dir=Path("out"))    # doctest: +SKIP
"""

from importlib import import_module
from typing import Any

# Public name → module. Imported on first use, so `import engine.schema` (or the CLI's
# start-up) does not pay for numba, LightGBM or the reference tables.
_EXPORTS: dict[str, str] = {
    "IngestError": "engine.errors",
    "Location": "engine.errors",
    "LookoutError": "engine.errors",
    "PipelineError": "engine.errors",
    "ReferenceDataError": "engine.errors",
    "SpecError": "engine.errors",
    "read_chunks": "engine.ingest",
    "read_frame": "engine.ingest",
    "Scorer": "engine.scorer",
    "prepare": "engine.prepare",
    "prepare_history": "engine.prepare",
    "run_batch": "engine.pipeline",
    "Capacity": "engine.policy",
    "ScoringPolicy": "engine.policy",
    "combine": "engine.policy",
    "select": "engine.policy",
    "RunRecord": "engine.record",
    "ReferenceData": "engine.reference",
    "CANONICAL": "engine.schema",
    "DERIVED": "engine.schema",
    "OUTPUTS": "engine.schema",
    "known_fields": "engine.schema",
    "DatasetSpec": "engine.spec",
    "load_spec": "engine.spec",
    "validate": "engine.validate",
    "ValidationStage": "engine.validate",
    "enrich": "engine.enrich",
    "EnrichmentStage": "engine.enrich",
    "container_number_valid": "engine.kernels",
    "imo_number_valid": "engine.kernels",
    "generate": "engine.generate",
    "GeneratedData": "engine.generate",
    "TypologyRates": "engine.generate",
    "GeneratorError": "engine.generate",
    "ExplainingStage": "engine.stages",
    "Stage": "engine.stages",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
