"""schemathesis against the firm API's own OpenAPI schema, with a real token on a firm host.

Every operation of /api/schema/ is called with generated data through the WSGI app, in
process. The checks: no 5xx, and every response (status, headers, body) matches the schema.
The fast run (`trust`) takes a handful of examples per operation with a fixed seed; the long
run (`slow`, `make trust-long`) takes many more.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.test.client import ClientHandler
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tenants.custody.mynumber import check_digit
from tests.api.test_api import create_person, put_number, token
from tests.helpers import firm_host

pytestmark = pytest.mark.django_db
# The stored number is computed, not written as a string: Hypothesis feeds string literals
# it finds in the source into generated data, and a name equal to it would be echoed back.
_FIRST = str(27182818284)
SECRET = _FIRST + str(check_digit(_FIRST))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app():
    """Django's app as WSGI, through the test client's handler: it runs inside the test's
    transaction (the per-request connection clean-up is off, as in Django's test client)."""
    handler = ClientHandler(enforce_csrf_checks=True)

    def app(environ, start_response):
        response = handler(environ)
        headers = [*response.items()]
        headers += [("Set-Cookie", c.output(header="")) for c in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        if response.streaming:
            return [b"".join(response.streaming_content)]
        return [response.content]

    return app


def _fuzz(acme, harry, wsgi_app, *, examples: int) -> None:
    from django.test import Client

    raw = token(acme, harry)
    client = Client(HTTP_HOST=firm_host(acme), HTTP_AUTHORIZATION=f"Bearer {raw}")
    person = create_person(client)
    put_number(client, person["id"], SECRET)
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    headers = {"Host": firm_host(acme), "Authorization": f"Bearer {raw}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures: list[str] = []
    for operation in operations:

        @seed(20261127)
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(headers=headers)
            assert SECRET not in response.text or case.path.endswith("/reveal/")
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as error:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.label}: {type(error).__name__}: {error}"[:2000])
    assert not failures, "\n\n".join(failures)


@pytest.mark.trust
def test_api_conforms_to_its_schema_and_never_5xx(acme, harry, wsgi_app):
    _fuzz(acme, harry, wsgi_app, examples=3)


@pytest.mark.slow
def test_api_conforms_to_its_schema_and_never_5xx_long(acme, harry, wsgi_app):
    _fuzz(acme, harry, wsgi_app, examples=100)
