"""api: the Lookout HTTP service (FastAPI) over the engine, with its store, keys and CLI.

Public surface (imported lazily so ``lookout`` commands that do not serve HTTP stay fast)::

    from api import create_app, Settings
    app = create_app(Settings(data_dir=Path("/srv/lookout")))

For resources plugged into the same app: ``Base`` (tables), ``SessionDep`` /
``ReadSessionDep``, ``CurrentKey`` / ``require_role`` (auth), ``Audit`` / ``record_audit``
(audit log), ``State`` / ``AppState``, ``ProblemException`` (RFC 9457 errors).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "create_app": "api.app",
    "Settings": "api.settings",
    "Base": "api.db",
    "migrate": "api.db",
    "SessionDep": "api.auth",
    "ReadSessionDep": "api.auth",
    "CurrentKey": "api.auth",
    "Principal": "api.auth",
    "require_role": "api.auth",
    "Audit": "api.audit",
    "record_audit": "api.audit",
    "State": "api.state",
    "AppState": "api.state",
    "ProblemException": "api.problems",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'api' has no attribute {name!r}")
