"""The firm's pages for people and numbers, by role, including the one who must not see."""

from __future__ import annotations

import pytest

from tests.helpers import signed_in_firm_client

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
PERSON_FORM = {
    "kind": "employee",
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
    "birth_date": "1990-04-01",
}


def add_person_with_number(client) -> int:
    response = client.post("/people/new/", PERSON_FORM)
    assert response.status_code == 302, response.content.decode()[-800:]
    pk = int(response["Location"].rstrip("/").split("/")[-1])
    response = client.post(
        f"/people/{pk}/number/", {"my_number": "1234 5678 9018", "purposes": ["withholding_slip"]}
    )
    assert response.status_code == 302, response.content.decode()[-800:]
    return pk


def test_handler_registers_a_person_and_a_number_then_reveals_it(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = add_person_with_number(client)
    page = client.get(f"/people/{pk}/").content.decode()
    assert "****-****-****" in page and NUMBER not in page
    listing = client.get("/people/").content.decode()
    assert "山田 花子" in listing and NUMBER not in listing

    response = client.post(f"/people/{pk}/reveal/", {"purpose": "withholding_slip"})
    assert response.status_code == 200
    assert "1234-5678-9018" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    log = client.get("/access-log/?action=reveal").content.decode()
    rows = log.split("<tbody>")[1]
    assert (
        "harry@acme.test" in rows and "山田 花子" in rows and "給与所得の源泉徴収票作成事務" in rows
    )


def test_bad_number_shows_a_clear_message_and_keeps_nothing(acme, harry):
    client = signed_in_firm_client(harry, acme)
    response = client.post("/people/new/", PERSON_FORM)
    pk = int(response["Location"].rstrip("/").split("/")[-1])
    response = client.post(
        f"/people/{pk}/number/", {"my_number": "123456789012", "purposes": ["withholding_slip"]}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "検査用数字が一致しません" in page
    assert "123456789012" not in page  # the form is not refilled with the number
    assert "未登録" in client.get("/people/").content.decode()


def test_viewer_sees_masked_data_and_the_log_but_cannot_reveal(acme, harry, vera):
    pk = add_person_with_number(signed_in_firm_client(harry, acme))
    client = signed_in_firm_client(vera, acme)
    page = client.get(f"/people/{pk}/").content.decode()
    assert "****-****-****" in page and "表示する（記録されます）" not in page
    response = client.post(f"/people/{pk}/reveal/", {"purpose": "withholding_slip"})
    assert response.status_code == 403
    assert (
        NUMBER not in response.content.decode()
        and "1234-5678-9018" not in response.content.decode()
    )
    assert client.get("/access-log/").status_code == 200
    assert client.post("/people/new/", PERSON_FORM).status_code != 302


def test_access_log_csv_download_is_itself_logged(acme, alice):
    client = signed_in_firm_client(alice, acme)
    add_person_with_number(client)
    response = client.get("/access-log.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("seq,at,")
    assert NUMBER not in body
    again = b"".join(client.get("/access-log.csv?action=download_log").streaming_content).decode()
    assert "download_log" in again


def test_export_page_downloads_csv_for_the_chosen_people(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = add_person_with_number(client)
    response = client.post("/exports/", {"purpose": "withholding_slip", "people": [str(pk)]})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[1].endswith(NUMBER)


def test_owner_creates_an_api_token_shown_once(acme, alice):
    client = signed_in_firm_client(alice, acme)
    response = client.post(
        "/api-tokens/", {"name": "給与ソフト", "user": str(alice.pk), "scopes": ["read", "reveal"]}
    )
    page = response.content.decode()
    assert "mnc_" in page
    raw = page.split('id="new-token">')[1].split("<")[0]
    assert raw not in client.get("/api-tokens/").content.decode()  # never shown again
    from django.test import Client

    api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/people/").status_code == 200


def test_non_owner_has_no_token_page(acme, harry):
    assert signed_in_firm_client(harry, acme).get("/api-tokens/").status_code == 403


def test_owner_adds_a_purpose_and_others_cannot(acme, alice, harry):
    from django_tenants.utils import tenant_context

    from tenants.custody.models import Purpose

    owner = signed_in_firm_client(alice, acme)
    response = owner.post("/purposes/", {"code": "bonus_report", "name_ja": "賞与支払届",
                                         "name_en": "Bonus reports", "default_for": ["employee"]})  # fmt: skip
    assert response.status_code == 302
    handler = signed_in_firm_client(harry, acme)
    handler.post("/purposes/", {"code": "sneaky", "name_ja": "x", "name_en": "x"})
    duplicate = owner.post("/purposes/", {"code": "bonus_report", "name_ja": "y", "name_en": "y"})
    assert duplicate.status_code == 200 and "既に存在" in duplicate.content.decode()
    with tenant_context(acme):
        assert Purpose.objects.get(code="bonus_report").default_for == ["employee"]
        assert not Purpose.objects.filter(code="sneaky").exists()


def test_access_log_filters_by_member(acme, alice, harry):
    add_person_with_number(signed_in_firm_client(harry, acme))
    owner = signed_in_firm_client(alice, acme)
    page = owner.get(f"/access-log/?actor={harry.pk}").content.decode()
    rows = page.split("<tbody>")[1]
    assert "harry@acme.test" in rows and "alice@acme.test" not in rows
    assert f'<option value="{harry.pk}" selected>harry@acme.test</option>' in page


def test_owner_lets_accountants_reveal_and_the_change_is_logged(acme, alice, carol):
    from django_tenants.utils import tenant_context

    from tenants.auditlog.models import AccessLogEntry

    pk = add_person_with_number(signed_in_firm_client(alice, acme))
    accountant = signed_in_firm_client(carol, acme)
    assert (
        accountant.post(f"/people/{pk}/reveal/", {"purpose": "withholding_slip"}).status_code == 403
    )
    assert accountant.get("/settings/").status_code == 403  # owners only
    owner = signed_in_firm_client(alice, acme)
    owner.post(
        "/settings/", {"accountants_may_reveal": "on", "delete_documents_after_approval": "on"}
    )
    response = accountant.post(f"/people/{pk}/reveal/", {"purpose": "withholding_slip"})
    assert response.status_code == 200 and "1234-5678-9018" in response.content.decode()
    with tenant_context(acme):
        change = AccessLogEntry.objects.filter(action="permission").get()
        assert (
            change.detail == {"accountants_may_reveal": True} and change.actor_email == alice.email
        )


def test_access_log_names_actions_and_roles_in_words(acme, alice, harry):
    """The log stores codes; its reader sees what they mean, in the page's language."""
    client = signed_in_firm_client(harry, acme)
    pk = add_person_with_number(client)
    client.post(f"/people/{pk}/reveal/", {"purpose": "withholding_slip"})
    page = signed_in_firm_client(alice, acme).get("/access-log/").content.decode()
    rows = page.split("<tbody>")[1]
    assert "<td>番号表示</td>" in rows and "<td>登録</td>" in rows
    assert "事務取扱担当者" in rows and ">reveal<" not in rows and ">handler<" not in rows
    assert '<option value="reveal">番号表示</option>' in page
    english = signed_in_firm_client(alice, acme)
    english.cookies["django_language"] = "en"
    rows_en = english.get("/access-log/").content.decode().split("<tbody>")[1]
    assert "番号表示" not in rows_en and "Number revealed" in rows_en
