"""Every API endpoint refuses a token of another firm, and ids of another firm are 404."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, get_resolver

from tests.api.test_api import NUMBER, PERSON, api, create_person, put_number, token

pytestmark = pytest.mark.django_db


def api_routes() -> list[str]:
    """Every route under /api/v1/, read from the URL conf so a new endpoint is covered."""
    resolver = get_resolver("config.urls_tenant")
    api = next(p for p in resolver.url_patterns if str(p.pattern) == "api/v1/")
    return [str(p.pattern) for p in api.url_patterns if isinstance(p, URLPattern)]


def concrete(route: str, pk: int) -> str:
    # A uuid route (filings) gets an id that is nobody's: another firm's are tested in
    # tests/api/test_filings.py.
    uuid_pk = "6f1c1a9e-0000-4000-8000-000000000000"
    return "/api/v1/" + route.replace("<int:pk>", str(pk)).replace("<uuid:pk>", uuid_pk)


METHODS = ["get", "post", "put", "patch", "delete"]


def test_every_route_is_covered():
    assert len(api_routes()) >= 7


@pytest.mark.parametrize("method", METHODS)
def test_a_token_of_one_firm_is_refused_on_another_firms_host(acme, globex, harry, gina, method):
    theirs = api(globex, token(globex, gina))
    person = create_person(theirs)
    put_number(theirs, person["id"])
    intruder = api(globex, token(acme, harry))  # Acme's token, on Globex's host
    for route in api_routes():
        response = getattr(intruder, method)(
            concrete(route, person["id"]),
            {"purpose": "withholding_slip", **PERSON},
            content_type="application/json",
        )
        assert response.status_code in (401, 405), (route, method, response.status_code)
        assert NUMBER not in response.content.decode()


@pytest.mark.parametrize("method", METHODS)
def test_ids_of_another_firm_are_404_on_your_own_host(acme, globex, harry, gina, method):
    theirs = api(globex, token(globex, gina))
    person = create_person(theirs)
    put_number(theirs, person["id"])
    mine = api(acme, token(acme, harry))
    for route in api_routes():
        if "<int:pk>" not in route:
            continue
        response = getattr(mine, method)(
            concrete(route, person["id"]),
            {"purpose": "withholding_slip", "my_number": NUMBER},
            content_type="application/json",
        )
        assert response.status_code in (404, 405), (route, method, response.status_code)
    assert theirs.get(f"/api/v1/people/{person['id']}/").status_code == 200  # still there


def schema_operations() -> list[tuple[str, str]]:
    """Every (path, method) the published OpenAPI schema lists: what a client is told exists."""
    from django.test import Client

    response = Client(HTTP_HOST="localhost").get("/api/schema/", HTTP_ACCEPT="application/json")
    paths = response.json()["paths"]
    return [(path, method) for path, item in paths.items() for method in item
            if method in METHODS]  # fmt: skip


def their_filing(client) -> str:
    """A filing of theirs: its id is a uuid, not a person's."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.filings.test_fill import row, upload

    data = SimpleUploadedFile("f.csv", upload(row("山田 花子")), "text/csv")
    response = client.post("/api/v1/filings/", {"file": data})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_every_operation_of_the_schema_is_refused_across_firms(acme, globex, harry, gina):
    """The matrix again, driven by the OpenAPI schema instead of the URL conf: each operation
    with another firm's token is 401, and with your token but another firm's ids is 404."""
    operations = schema_operations()
    assert len(operations) >= 10
    theirs = api(globex, token(globex, gina))
    person = create_person(theirs)
    put_number(theirs, person["id"])
    intruder = api(globex, token(acme, harry))
    mine = api(acme, token(acme, harry))
    body = {"purpose": "withholding_slip", "my_number": NUMBER, **PERSON}
    filing = their_filing(theirs)
    for path, method in operations:
        url = path.replace("{id}", filing if "/filings/" in path else str(person["id"]))
        refused = getattr(intruder, method)(url, body, content_type="application/json")
        assert refused.status_code == 401, (path, method, refused.status_code)
        if "{id}" in path:
            missing = getattr(mine, method)(url, body, content_type="application/json")
            assert missing.status_code == 404, (path, method, missing.status_code)
        assert NUMBER not in refused.content.decode()
    assert theirs.get(f"/api/v1/people/{person['id']}/").status_code == 200
