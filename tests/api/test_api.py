"""The firm API as payroll software sees it: tokens, scopes, the number endpoints, errors."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.api_tokens import api_token_create, api_token_revoke
from accounts.models import Membership
from tenants.auditlog.models import AccessLogEntry

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
ALL = ["read", "write", "reveal", "export", "audit"]


def api(firm, raw: str | None) -> Client:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return Client(HTTP_HOST=f"{firm.slug}.localhost", **headers)


def token(firm, user, scopes=ALL) -> str:
    return api_token_create(firm=firm, user=user, scopes=scopes, name="payroll")[1]


PERSON = {
    "kind": "employee",
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
    "birth_date": "1990-04-01",
}


def create_person(client, **extra) -> dict:
    response = client.post("/api/v1/people/", {**PERSON, **extra}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def put_number(client, person_id, number=NUMBER, purposes=None):
    body = {"my_number": number}
    if purposes is not None:
        body["purposes"] = purposes
    return client.put(
        f"/api/v1/people/{person_id}/my-number/", body, content_type="application/json"
    )


def test_the_full_contract(acme, harry):
    client = api(acme, token(acme, harry))
    person = create_person(client)
    assert person["has_number"] is False and person["my_number"] is None

    response = put_number(client, person["id"])
    assert response.status_code == 200
    assert NUMBER not in response.content.decode()
    assert "withholding_slip" in response.json()["purposes"]

    listed = client.get("/api/v1/people/").json()
    assert listed["count"] == 1 and listed["results"][0]["my_number"] == "****-****-****"
    assert NUMBER not in client.get(f"/api/v1/people/{person['id']}/").content.decode()

    revealed = client.post(f"/api/v1/people/{person['id']}/reveal/", {"purpose": "withholding_slip"},
                           content_type="application/json")  # fmt: skip
    assert revealed.status_code == 200 and revealed.json() == {"my_number": NUMBER}
    assert revealed["Cache-Control"] == "no-store"

    patched = client.patch(f"/api/v1/people/{person['id']}/", {"relationship_end": "2026-03-31"},
                           content_type="application/json")  # fmt: skip
    assert patched.status_code == 200 and patched.json()["relationship_end"] == "2026-03-31"

    purposes = client.get("/api/v1/purposes/").json()
    assert {"code", "name_ja", "name_en"} <= set(purposes[0])

    log = client.get(f"/api/v1/access-log/?person={person['id']}&action=reveal").json()
    assert log["count"] == 1 and log["results"][0]["purpose"] == "withholding_slip"

    assert client.delete(f"/api/v1/people/{person['id']}/").status_code == 204
    assert client.get(f"/api/v1/people/{person['id']}/").status_code == 404


def test_number_errors(acme, harry):
    client = api(acme, token(acme, harry))
    first, second = create_person(client), create_person(client, given_name="太郎")
    bad = put_number(client, first["id"], "123456789012")
    assert bad.status_code == 400 and bad.json()["code"] == "check_digit"
    assert put_number(client, first["id"]).status_code == 200
    duplicate = put_number(client, second["id"])
    assert duplicate.status_code == 409 and NUMBER not in duplicate.content.decode()
    assert put_number(client, second["id"], "987654321018", ["no_such"]).status_code == 400


@pytest.mark.parametrize("body", [{}, {"purpose": "no_such_purpose"}])
def test_reveal_without_a_known_purpose_is_400(acme, harry, body):
    client = api(acme, token(acme, harry))
    person = create_person(client)
    put_number(client, person["id"])
    response = client.post(
        f"/api/v1/people/{person['id']}/reveal/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert NUMBER not in response.content.decode()


def test_scopes_limit_a_token(acme, harry):
    full = api(acme, token(acme, harry))
    person = create_person(full)
    put_number(full, person["id"])
    reader = api(acme, token(acme, harry, ["read"]))
    assert reader.get("/api/v1/people/").status_code == 200
    assert (
        reader.post("/api/v1/people/", PERSON, content_type="application/json").status_code == 403
    )
    assert reader.post(f"/api/v1/people/{person['id']}/reveal/", {"purpose": "withholding_slip"},
                       content_type="application/json").status_code == 403  # fmt: skip
    assert reader.get("/api/v1/access-log/").status_code == 403


def test_a_viewers_token_never_reveals_even_with_the_scope(acme, harry, vera):
    person = create_person(api(acme, token(acme, harry)))
    put_number(api(acme, token(acme, harry)), person["id"])
    response = api(acme, token(acme, vera)).post(
        f"/api/v1/people/{person['id']}/reveal/",
        {"purpose": "withholding_slip"},
        content_type="application/json",
    )
    assert response.status_code == 403 and NUMBER not in response.content.decode()
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="reveal", result="denied").count() == 1


def test_missing_revoked_or_orphaned_tokens_are_401(acme, harry, alice):
    assert api(acme, None).get("/api/v1/people/").status_code == 401
    assert api(acme, "mnc_not-a-token").get("/api/v1/people/").status_code == 401
    raw = token(acme, harry)
    api_token_revoke(harry.api_tokens.get())
    assert api(acme, raw).get("/api/v1/people/").status_code == 401
    raw = token(acme, alice)
    Membership.objects.filter(user=alice).delete()  # the member left the firm
    assert api(acme, raw).get("/api/v1/people/").status_code == 401


def test_export_streams_csv_with_one_log_entry_per_person(acme, harry):
    client = api(acme, token(acme, harry))
    person = create_person(client)
    put_number(client, person["id"])
    response = client.post(
        "/api/v1/exports/", {"purpose": "withholding_slip"}, content_type="application/json"
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-1] == "my_number" and rows[1][-1] == NUMBER
    with tenant_context(acme):
        assert list(
            AccessLogEntry.objects.filter(action="export").values_list("person_id", flat=True)
        ) == [person["id"]]


def test_openapi_schema_describes_the_endpoints():
    response = Client(HTTP_HOST="localhost").get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/people/", "/api/v1/people/{id}/my-number/", "/api/v1/people/{id}/reveal/",
                 "/api/v1/purposes/", "/api/v1/access-log/", "/api/v1/exports/"):  # fmt: skip
        assert path in paths, path


@pytest.mark.django_db(transaction=True)
def test_reveal_outside_any_transaction_commits_its_entry_first_or_gives_nothing(acme, harry):
    """Committed for real, as in production: the entry is committed by its own statement
    before the number is answered, and with the log unwritable the answer is a 503 with no
    number and nothing is written."""
    from django.db import connection

    client = api(acme, token(acme, harry))
    person = create_person(client)
    assert put_number(client, person["id"]).status_code == 200
    url = f"/api/v1/people/{person['id']}/reveal/"
    body = {"purpose": "withholding_slip"}
    with tenant_context(acme):
        before = AccessLogEntry.objects.count()
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE auditlog_accesslogentry ADD CONSTRAINT broken CHECK (false) NOT VALID"
            )
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 503 and NUMBER not in refused.content.decode()
    with tenant_context(acme):
        assert AccessLogEntry.objects.count() == before
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE auditlog_accesslogentry DROP CONSTRAINT broken")
    revealed = client.post(url, body, content_type="application/json")
    assert revealed.json() == {"my_number": NUMBER}
    assert not connection.in_atomic_block  # the entry below was committed, not pending
    with tenant_context(acme):
        last = AccessLogEntry.objects.order_by("-seq").first()
        assert (last.action, last.person_id, last.result) == ("reveal", person["id"], "allowed")


def test_a_missing_id_gets_the_same_plain_answer_everywhere(acme, harry):
    client = api(acme, token(acme, harry))
    answers = [
        client.get("/api/v1/people/999999/"),
        client.post("/api/v1/people/999999/reveal/", {"purpose": "withholding_slip"},
                    content_type="application/json"),
        client.post("/api/v1/people/999999/reveal/", {}, content_type="application/json"),
    ]  # fmt: skip
    assert {(a.status_code, a.json()["detail"]) for a in answers} == {
        (404, "見つかりませんでした。")
    }
