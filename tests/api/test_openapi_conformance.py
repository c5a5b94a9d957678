"""schemathesis against the server's own OpenAPI: no 5xx, no response outside the schema.

Driven through schemathesis' Python API with hypothesis (its pytest plugin does not run
under this pytest), bounded to a few examples per operation.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import LiveServer

pytestmark = pytest.mark.xdist_group("api")

MAX_EXAMPLES = 8
# A schema-valid request may still be semantically wrong: a PNG is a valid "binary" upload
# but no manifest, an unknown batch id is a valid string. Those get 4xx problems by design.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]
# The service's own resources; routes mounted by other modules have their own tests.
OWN_TAGS = {"batches", "containers", "inspections", "rules", "model", "operations"}


def operations(server: LiveServer) -> list[Any]:
    """Every operation of the published schema that belongs to this service's resources."""
    loaded = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    found = [result.ok() for result in loaded.get_all_operations()]
    return [op for op in found if set(op.tags or ()) & OWN_TAGS]


def test_every_operation_conforms(server: LiveServer) -> None:
    key = server.key("SCHEMATHESIS-PCU", "admin")
    headers = {"Authorization": f"Bearer {key}"}
    checked = []
    for operation in operations(server):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=headers, timeout=120, excluded_checks=EXCLUDED)

        conforms()
        checked.append(operation.label)
    assert "POST /v1/batches" in checked and "GET /v1/containers/{container_number}" in checked
    assert len(checked) >= 14
