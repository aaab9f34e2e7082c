"""A person's employee/payee code through the firm API, as payroll software sees it: read and
written on people, found with ?code=, refused with a 400 field error (never a 500), described
in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.custody.models import Person
from tests.api.test_api import api, create_person, token

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"  # a valid-looking My Number (its check digit agrees)
PERSON = {
    "kind": "employee",
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
}


def post(client, **extra):
    return client.post("/api/v1/people/", {**PERSON, **extra}, content_type="application/json")


def patch(client, pk: int, **changes):
    return client.patch(f"/api/v1/people/{pk}/", changes, content_type="application/json")


@pytest.fixture
def client(acme, harry):
    return api(acme, token(acme, harry))


def test_the_code_is_written_normalised_read_back_and_changed(client):
    person = create_person(client, code=" Ｅ－００１ ")
    assert person["code"] == "E-001"
    assert client.get(f"/api/v1/people/{person['id']}/").json()["code"] == "E-001"
    assert create_person(client, given_name="次郎")["code"] == ""  # optional
    changed = patch(client, person["id"], code="E002")
    assert changed.status_code == 200 and changed.json()["code"] == "E002"
    cleared = patch(client, person["id"], code="")
    assert cleared.status_code == 200 and cleared.json()["code"] == ""


def test_the_list_filters_by_code_as_stored(client):
    employee = create_person(client, code="A100")
    payee = create_person(client, kind="payee", code="A100", given_name="次郎")
    create_person(client, code="A101", given_name="三郎")
    found = client.get("/api/v1/people/?code=Ａ１００").json()
    assert found["count"] == 2
    assert {(p["id"], p["kind"]) for p in found["results"]} == {
        (employee["id"], "employee"),
        (payee["id"], "payee"),
    }
    assert client.get("/api/v1/people/?code=nobody").json()["count"] == 0
    for junk in ("%00", "E%201", "%E7%A4%BE"):  # a NUL, a space inside, a kanji: nobody
        answer = client.get(f"/api/v1/people/?code={junk}")
        assert answer.status_code == 200 and answer.json()["count"] == 0
    assert client.get("/api/v1/people/").json()["count"] == 3


def test_a_duplicate_within_a_kind_is_a_400_field_error_naming_the_conflict(acme, client):
    create_person(client, code="E001", family_name="徳川")
    response = post(client, code="e001")  # letter case is kept: a different code
    assert response.status_code == 201
    response = post(client, code="Ｅ００１")
    assert response.status_code == 400
    [message] = response.json()["code"]
    assert "「E001」は既に別の従業員に使われています" in message and "徳川" not in message
    with tenant_context(acme):
        assert Person.objects.filter(code="E001").count() == 1


def test_changing_the_kind_checks_the_code_against_the_new_kind(client):
    create_person(client, kind="payee", code="P001")
    person = create_person(client, code="P001", given_name="次郎")  # an employee may share it
    response = patch(client, person["id"], kind="payee")
    assert response.status_code == 400
    assert "既に別の支払先に使われています" in response.json()["code"][0]
    assert client.get(f"/api/v1/people/{person['id']}/").json()["kind"] == "employee"


@pytest.mark.parametrize("typed", [NUMBER, "１２３４－５６７８－９０１８", f"X{NUMBER}"])
def test_a_run_of_twelve_digits_is_refused_and_never_echoed(acme, client, typed):
    response = post(client, code=typed)
    assert response.status_code == 400
    body = response.content.decode()
    assert "12桁続く数字はマイナンバーと見分けがつかない" in response.json()["code"][0]
    assert NUMBER not in body and "5678" not in body
    with tenant_context(acme):
        assert not Person.objects.exists()
        assert NUMBER not in str(list(AccessLogEntry.objects.values_list("detail", flat=True)))


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("E 001", "半角の英字・数字と「-」「_」だけです"),
        ("B" * 25, "20文字以内にしてください（入力は25文字でした）"),
    ],
)
def test_bad_characters_and_lengths_are_field_errors(client, typed, message):
    response = post(client, code=typed)
    assert response.status_code == 400 and message in response.json()["code"][0]


def test_a_dependent_cannot_have_a_code(client):
    parent = create_person(client, code="E001")
    response = post(client, kind="dependent", employee=parent["id"], relationship="子",
                    code="E001-1")  # fmt: skip
    assert response.status_code == 400
    assert "扶養親族には従業員・支払先コードを付けられません" in response.json()["code"][0]
    child = create_person(client, kind="dependent", employee=parent["id"], relationship="子")
    assert patch(client, child["id"], code="C1").status_code == 400


def test_a_code_taken_between_the_check_and_the_write_is_still_a_400(client, monkeypatch):
    """Another request saves the same code between the serializer's check and the write:
    the database's constraint catches it, and the answer is the same field error."""
    real_full_clean = Person.full_clean

    def someone_else_saves_first(self, *args, **kwargs):
        real_full_clean(self, *args, **kwargs)
        Person.objects.create(kind=self.kind, code=self.code, family_name="別", given_name="人",
                              family_name_kana="ベツ", given_name_kana="ヒト")  # fmt: skip

    monkeypatch.setattr(Person, "full_clean", someone_else_saves_first)
    response = post(client, code="E001")
    assert response.status_code == 400
    assert "「E001」は既に別の従業員に使われています" in response.json()["code"][0]


def test_another_firms_code_is_no_conflict_and_is_not_found_here(acme, harry, globex, gina):
    ours = api(acme, token(acme, harry))
    theirs = api(globex, token(globex, gina))
    create_person(ours, code="E001")
    assert create_person(theirs, code="E001")["code"] == "E001"
    found = theirs.get("/api/v1/people/?code=E001").json()
    assert found["count"] == 1
    with tenant_context(globex):
        assert found["results"][0]["id"] == Person.objects.get().pk


def test_the_schema_documents_the_code_and_the_filter():
    schema = Client(HTTP_HOST="localhost").get("/api/schema/", HTTP_ACCEPT="application/json")
    document = schema.json()
    code = document["components"]["schemas"]["Person"]["properties"]["code"]
    assert code["type"] == "string" and "payroll" in code["description"]
    assert "12 digits" in code["description"]
    listing = document["paths"]["/api/v1/people/"]["get"]["parameters"]
    assert any(p["name"] == "code" and p["in"] == "query" for p in listing)
