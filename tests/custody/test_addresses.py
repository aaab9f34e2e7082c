"""Addresses on people (郵便番号 and 住所, issue 19): typed on the person form, imported from the
people CSV and sent through the API, read the same way at every door (full-width input and a
hyphen are fine; the postal code is stored as its 7 digits), shown on the person's page, and
refused with a message under the field, on the row or as a 400 field error: a postal code that
is not 7 digits, an address over 200 characters, and an address holding a run of 12 digits (it
could be a My Number), which is never echoed."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.custody.csv_import import parse_csv
from tenants.custody.models import Person
from tests.api.test_api import PERSON, api, token
from tests.custody.test_csv_import import ENGLISH, upload, uploaded_id, valid
from tests.custody.test_import_language import preview_errors
from tests.helpers import signed_in_firm_client
from tests.progress.helpers import confirm_import

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
ADDRESS = "東京都千代田区千代田1-1 ハイツ101"
PERSON_FORM = {
    "kind": "employee",
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
}


def field_errors(response, name: str) -> str:
    """The error list the form shows under a field (empty when there is none)."""
    page = response.content.decode()
    found = re.search(rf'<ul class="errorlist" id="id_{name}_error">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


def stored(firm, **lookup) -> Person:
    with tenant_context(firm):
        return Person.objects.get(**lookup)


# --- the person form ------------------------------------------------------------------------


def test_the_form_stores_full_width_input_and_the_person_page_shows_the_address(acme, harry):
    client = signed_in_firm_client(harry, acme)
    assert 'name="postal_code"' in client.get("/people/new/").content.decode()
    response = client.post("/people/new/", {**PERSON_FORM, "postal_code": "〒１００－０００１",
                                            "address": "  東京都千代田区千代田１－１\n ハイツ１０１ "})  # fmt: skip
    assert response.status_code == 302, response.content.decode()[-1500:]
    person = stored(acme, given_name="花子")
    assert (person.postal_code, person.address) == ("1000001", ADDRESS)
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert "<dt>住所</dt><dd>〒100-0001 東京都千代田区千代田1-1 ハイツ101</dd>" in page


def test_the_address_is_optional_and_can_be_edited_later(acme, harry):
    client = signed_in_firm_client(harry, acme)
    assert client.post("/people/new/", PERSON_FORM).status_code == 302
    person = stored(acme, given_name="花子")
    assert (person.postal_code, person.address) == ("", "")
    assert "<dt>住所</dt><dd>—</dd>" in client.get(f"/people/{person.pk}/").content.decode()
    edited = client.post(f"/people/{person.pk}/edit/",
                         {**PERSON_FORM, "postal_code": "1000001", "address": ADDRESS})  # fmt: skip
    assert edited.status_code == 302
    assert stored(acme, pk=person.pk).postal_code == "1000001"


@pytest.mark.parametrize("typed", ["100-001", "1000-001", "１００ー０００１２", "abc-defg"])
def test_a_postal_code_that_is_not_seven_digits_is_a_message_under_its_field(acme, harry, typed):
    client = signed_in_firm_client(harry, acme)
    response = client.post("/people/new/", {**PERSON_FORM, "postal_code": typed})
    assert response.status_code == 200
    assert "郵便番号は7桁の数字で入力してください" in field_errors(response, "postal_code")
    with tenant_context(acme):
        assert not Person.objects.exists()


@pytest.mark.parametrize(
    "typed", [f"東京都{NUMBER}", "東京都１２３４－５６７８－９０１８", "1234 5678 9018"]
)
def test_an_address_holding_twelve_digits_is_refused_and_never_echoed(acme, harry, typed):
    client = signed_in_firm_client(harry, acme)
    response = client.post("/people/new/", {**PERSON_FORM, "address": typed})
    assert response.status_code == 200
    assert "12桁続く数字はマイナンバーと見分けがつかないため、住所には使えません" in field_errors(
        response, "address"
    )
    page = response.content.decode()
    assert NUMBER not in page and "5678" not in page  # the field is shown again empty
    with tenant_context(acme):
        assert not Person.objects.exists()


def test_an_address_over_200_characters_is_refused_with_the_count(acme, harry):
    client = signed_in_firm_client(harry, acme)
    response = client.post("/people/new/", {**PERSON_FORM, "address": "東" * 201})
    assert "住所は200文字以内にしてください（入力は201文字でした）" in field_errors(
        response, "address"
    )


# --- the CSV import -------------------------------------------------------------------------

WITH_ADDRESS = ENGLISH + ",postal_code,address"


def row(i: int, postal_code: str, address: str) -> str:
    return (f"employee,山田,{i}郎,ヤマダ,タロウ,1990-04-01,2020/4/1,{valid(i)},withholding_slip,"
            f"{postal_code},{address}")  # fmt: skip


@pytest.mark.parametrize(
    ("postal", "address"), [("postal_code", "address"), ("郵便番号", "住所"), ("〒", "現住所")]
)
def test_the_address_columns_are_read_under_their_headings(postal, address):
    header = f"{ENGLISH},{postal},{address}"
    parsed = parse_csv(f"{header}\n{row(1, '100-0001', ADDRESS)}\n".encode("cp932"))
    assert parsed.errors == []
    assert (parsed.rows[0].postal_code, parsed.rows[0].address) == ("100-0001", ADDRESS)


def test_good_rows_import_their_addresses_normalised(acme, harry):
    client = signed_in_firm_client(harry, acme)
    data = "\n".join([WITH_ADDRESS, row(1, "１００－０００１", "東京都千代田区千代田１－１"),
                      row(2, "", "")]).encode()  # fmt: skip
    pk = uploaded_id(upload(client, data))
    assert "誤りは見つかりませんでした" in client.get(f"/people/import/{pk}/").content.decode()
    assert "2人を登録しました" in confirm_import(client, pk, follow=True).content.decode()
    assert stored(acme, given_name="1郎").postal_code == "1000001"
    assert stored(acme, given_name="1郎").address == "東京都千代田区千代田1-1"
    assert stored(acme, given_name="2郎").address == ""


def test_bad_rows_name_the_row_and_the_column_and_nothing_is_imported(acme, harry):
    client = signed_in_firm_client(harry, acme)
    data = "\n".join([WITH_ADDRESS, row(1, "100-0001", ADDRESS), row(2, "12-345", ADDRESS),
                      row(3, "", f"東京都{NUMBER}"), row(4, "", "東" * 201)]).encode()  # fmt: skip
    pk = uploaded_id(upload(client, data))
    errors = preview_errors(client, pk)
    assert "<td>3</td><td>郵便番号</td><td>郵便番号は7桁の数字で入力してください" in errors
    assert "<td>4</td><td>住所</td><td>12桁続く数字はマイナンバーと見分けがつかないため" in errors
    assert "<td>5</td><td>住所</td><td>住所は200文字以内にしてください" in errors
    assert "<td>2</td>" not in errors
    assert NUMBER not in client.get(f"/people/import/{pk}/").content.decode()
    confirm_import(client, pk)
    with tenant_context(acme):
        assert not Person.objects.exists()


def test_the_template_and_the_column_list_offer_the_address_columns(acme, harry):
    client = signed_in_firm_client(harry, acme)
    response = client.get("/people/import/template.csv")
    template = b"".join(response.streaming_content).decode("utf-8-sig")
    assert template.strip().endswith("言語,郵便番号,住所")
    page = client.get("/people/import/").content.decode()
    assert "<code>postal_code</code>" in page and "<code>address</code>" in page


# --- the API --------------------------------------------------------------------------------


def test_the_api_reads_and_writes_the_address(acme, harry):
    client = api(acme, token(acme, harry))
    created = client.post("/api/v1/people/", {**PERSON, "postal_code": "１００－０００１",
                                              "address": ADDRESS}, content_type="application/json")  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["postal_code"] == "1000001" and created.json()["address"] == ADDRESS
    patched = client.patch(f"/api/v1/people/{created.json()['id']}/", {"postal_code": "530-0001"},
                           content_type="application/json")  # fmt: skip
    assert patched.status_code == 200 and patched.json()["postal_code"] == "5300001"
    assert patched.json()["address"] == ADDRESS


def test_the_api_refuses_a_bad_postal_code_with_a_field_error(acme, harry):
    client = api(acme, token(acme, harry))
    response = client.post("/api/v1/people/", {**PERSON, "postal_code": "12345"},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert "郵便番号は7桁の数字で入力してください" in response.json()["postal_code"][0]
    with tenant_context(acme):
        assert not Person.objects.exists()


def test_the_api_refuses_twelve_digits_in_the_address_without_echoing_them(acme, harry):
    client = api(acme, token(acme, harry))
    person = client.post("/api/v1/people/", PERSON, content_type="application/json").json()
    response = client.patch(f"/api/v1/people/{person['id']}/", {"address": f"東京都{NUMBER}"},
                            content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert "住所には使えません" in response.json()["address"][0]
    assert NUMBER not in response.content.decode()
    assert stored(acme, pk=person["id"]).address == ""


def test_the_openapi_schema_documents_the_address_fields():
    schema = (
        Client(HTTP_HOST="localhost").get("/api/schema/", HTTP_ACCEPT="application/json").json()
    )
    fields = schema["components"]["schemas"]["Person"]["properties"]
    assert "7 digits" in fields["postal_code"]["description"]
    assert "12 digits" in fields["address"]["description"]
