"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis +
hypothesis): no input may produce a server error, and answers must match the schema.
Bounded: a fixed number of examples per operation, derandomized (seeded)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from tests.serve.conftest import make_app  # noqa: E402

EXAMPLES = 15


@pytest.mark.slow
def test_no_server_errors_on_any_operation(stack):
    from coverstory.serve.routes.chat import voice_available
    from coverstory.serve.settings import ServeSettings

    app = make_app(stack, settings=ServeSettings(rate_per_minute=0))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 16
    seen: dict[str, set[int]] = {}

    for op in operations:
        fuzz(op, seen, voice_available())()
    assert set(seen) == {f"{op.method.upper()} {op.path}" for op in operations}
    # the fuzzer reached real answers, not only refusals
    assert 200 in seen["GET /api/books/{book_id}"] | seen["GET /api/search"]


def fuzz(op, seen: dict, voice: bool):
    """A hypothesis test of one operation: no 5xx, answers that match the schema."""
    label = f"{op.method.upper()} {op.path}"
    allowed = {501} if label == "POST /api/chat/voice" and not voice else set()

    @given(case=op.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call()
        seen.setdefault(label, set()).add(response.status_code)
        assert response.status_code < 500 or response.status_code in allowed, (
            label, response.status_code, response.text)
        # uploads are schema-valid bytes that are not images: refusing them is right
        case.validate_response(response, excluded_checks=[
            checks.positive_data_acceptance, checks.not_a_server_error])  # asserted above

    return check
