"""schemathesis against the app's own /api/v1/openapi.json, with a valid key: a bounded,
derandomized number of generated requests per operation; no answer is a 5xx and every
answer conforms to the document (status, content type, body schema).

PostgreSQL only (TEST_DATABASE_URL, as CI and ``make test`` set it): it is the slow one, and
the database whose stricter types (NUL, integer ranges) generated input finds out.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import bearer, new_recipient

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="schemathesis runs on PostgreSQL (TEST_DATABASE_URL)")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_the_api_answers_as_its_document_says(api_app, keys) -> None:  # noqa: ANN001
    client = api_app.test_client()
    # Something to find: campaign "camp-a" with a recipient whose external id is "K-1".
    new_recipient(client, keys.all, "camp-a", external_id="K-1")
    # And a webhook endpoint of it with one delivery (ids from 1 on are tried first).
    hook = client.post("/api/v1/webhooks", headers=bearer(keys.all),
                       json={"url": "https://crm.example/hook", "campaign": "camp-a"})
    assert client.post(f"/api/v1/webhooks/{hook.get_json()['id']}/test",
                       headers=bearer(keys.all)).status_code == 202
    # schemathesis' own pytest loader (from_fixture) does not run under pytest 9 yet, so each
    # operation's strategy is driven by hypothesis here.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 31
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers_as_documented(case) -> None:  # noqa: ANN001
            case.call_and_validate(headers=bearer(keys.all), checks=CHECKS)

        answers_as_documented()
