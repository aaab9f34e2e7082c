"""Requests from the handler's side: who may make them, in bulk, by API, reminders, and other
firms kept out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.collection import services
from tenants.collection.models import CollectionRequest, RequestStatus
from tests.api.test_api import api, token
from tests.helpers import signed_in_firm_client

from .factories import (
    NUMBER,
    anonymous_client,
    committing,
    issue,
    make_person,
    submission,
    token_of,
)

pytestmark = pytest.mark.django_db


def test_a_second_open_request_for_the_same_person_is_refused(acme, harry):
    person = make_person(acme)
    issue(acme, harry, person)
    handler = signed_in_firm_client(harry, acme)
    response = handler.post(
        "/collection/new/", {"people": [person.pk], "documents": ["number_check"]}
    )
    assert response.status_code == 200
    assert "山田 花子 さんには回答待ちの依頼が既にあります" in response.content.decode()
    with tenant_context(acme):
        assert CollectionRequest.objects.count() == 1


def test_dependents_are_asked_through_their_employee(acme, harry):
    employee = make_person(acme)
    child = make_person(acme, kind="dependent", employee=employee, relationship="子")
    client = api(acme, token(acme, harry))
    response = client.post(
        "/api/v1/collection-requests/", {"person": child.pk}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "扶養する従業員への依頼" in response.json()["detail"]


def test_a_viewer_may_look_but_not_request_or_verify(acme, harry, vera):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    anonymous_client(acme).post(f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER]))
    viewer = signed_in_firm_client(vera, acme)
    assert viewer.get("/collection/").status_code == 200
    page = viewer.get(f"/collection/{issued.request.pk}/").content.decode()
    assert "承認して番号を登録する" not in page
    refused = viewer.post(f"/collection/{issued.request.pk}/numbers/", follow=True)
    assert refused.status_code == 403 and "許可されていません" in refused.content.decode()
    assert NUMBER not in refused.content.decode()
    viewer.post(f"/collection/{issued.request.pk}/approve/", {"method": "my_number_card"})
    with tenant_context(acme):
        assert CollectionRequest.objects.get().status == RequestStatus.SUBMITTED
        document = issued.request.uploaded_documents.first()
        denied = set(
            AccessLogEntry.objects.filter(result="denied").values_list("action", flat=True)
        )
    assert "collection_verify" in denied  # the numbers and the approval, refused and logged
    assert viewer.get(f"/collection/documents/{document.pk}/").status_code == 403
    new = viewer.post("/collection/new/", {"people": [person.pk], "documents": ["number_check"]})
    assert new.status_code == 403


def test_an_accountant_verifies_only_when_the_firm_lets_accountants_reveal(acme, harry, carol):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    anonymous_client(acme).post(f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER]))
    accountant = signed_in_firm_client(carol, acme)
    accountant.post(f"/collection/{issued.request.pk}/approve/", {"method": "my_number_card"})
    with tenant_context(acme):
        assert CollectionRequest.objects.get().status == RequestStatus.SUBMITTED


def test_other_firms_see_nothing(acme, globex, harry, gina):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    anonymous_client(acme).post(f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER]))
    with tenant_context(acme):
        document = issued.request.uploaded_documents.first()
    pk = issued.request.pk
    # Globex's owner on Globex's own host, with Acme's ids: nothing there.
    theirs = signed_in_firm_client(gina, globex)
    for method, path in [
        ("get", f"/collection/{pk}/"),
        ("post", f"/collection/{pk}/numbers/"),
        ("post", f"/collection/{pk}/approve/"),
        ("post", f"/collection/{pk}/reject/"),
        ("post", f"/collection/{pk}/revoke/"),
        ("post", f"/collection/{pk}/reissue/"),
        ("get", f"/collection/documents/{document.pk}/"),
    ]:
        response = getattr(theirs, method)(path, {"method": "my_number_card", "reason": "x"})
        assert response.status_code == 404, (method, path, response.status_code)
    assert "山田" not in theirs.get("/collection/").content.decode()
    globex_api = api(globex, token(globex, gina))
    assert globex_api.get(f"/api/v1/collection-requests/{pk}/").status_code == 404
    assert globex_api.post(f"/api/v1/collection-requests/{pk}/revoke/").status_code == 404
    assert globex_api.get("/api/v1/collection-requests/").json()["count"] == 0
    with tenant_context(acme):
        assert CollectionRequest.objects.get().status == RequestStatus.SUBMITTED


def test_the_api_contract(acme, harry):
    person = make_person(acme)
    client = api(acme, token(acme, harry))
    with committing():
        response = client.post(
            "/api/v1/collection-requests/",
            {"person": person.pk, "purposes": ["withholding_slip"], "email": "h@example.test"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["purposes"] == ["withholding_slip"]
    assert body["documents"] == ["number_check", "identity_check"]
    assert "/s/" in body["url"] and len(mail.outbox) == 1 and body["url"] in mail.outbox[0].body
    assert "url" not in client.get(f"/api/v1/collection-requests/{body['id']}/").json()

    conflict = client.post(
        "/api/v1/collection-requests/", {"person": person.pk}, content_type="application/json"
    )
    assert conflict.status_code == 409
    bad = client.post(
        "/api/v1/collection-requests/",
        {"person": person.pk, "documents": ["selfie"]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "documents" in bad.json()
    unknown = client.post(
        "/api/v1/collection-requests/",
        {"person": make_person(acme).pk, "purposes": ["astrology"]},
        content_type="application/json",
    )
    assert unknown.status_code == 400

    assert client.get("/api/v1/collection-requests/?status=pending").json()["count"] == 1
    assert client.get("/api/v1/collection-requests/?status=verified").json()["count"] == 0
    assert client.get("/api/v1/collection-requests/?status=nonsense").status_code == 400
    revoked = client.post(f"/api/v1/collection-requests/{body['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.post(f"/api/v1/collection-requests/{body['id']}/revoke/").status_code == 409
    read_only = api(acme, token(acme, harry, scopes=["read"]))
    assert (
        read_only.post(
            "/api/v1/collection-requests/", {"person": person.pk}, content_type="application/json"
        ).status_code
        == 403
    )


def test_bulk_requests_for_selected_people_show_every_link(acme, harry):
    people = [make_person(acme, given_name=name) for name in ("一郎", "二郎", "三郎")]
    handler = signed_in_firm_client(harry, acme)
    response = handler.post(
        "/collection/new/",
        {"people": [p.pk for p in people], "documents": ["number_check", "identity_check"]},
        follow=True,
    )
    page = response.content.decode()
    assert "3件の依頼を作成しました" in page
    assert page.count("<svg") == 3 and page.count("/s/") >= 3


def test_bulk_requests_from_a_csv_are_all_or_nothing(acme, harry):
    one, two = make_person(acme), make_person(acme, given_name="次郎")
    handler = signed_in_firm_client(harry, acme)
    bad = f"person_id,email\n{one.pk},one@example.test\n{two.pk},not-an-email\n".encode()
    response = handler.post(
        "/collection/new/csv/",
        {"file": SimpleUploadedFile("people.csv", bad), "documents": ["number_check"]},
        follow=True,
    )
    assert "3行目: メールアドレスの形式が正しくありません" in response.content.decode()
    with tenant_context(acme):
        assert not CollectionRequest.objects.exists()
    good = f"person_id,email\n{one.pk},one@example.test\n{two.pk},\n".encode("cp932")
    with committing():
        response = handler.post(
            "/collection/new/csv/",
            {"file": SimpleUploadedFile("people.csv", good), "documents": ["number_check"]},
            follow=True,
        )
    assert "2件の依頼を作成しました" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["one@example.test"]]


def test_reminders_go_until_answered_or_expired(acme, harry):
    answered, waiting, expired = (
        make_person(acme, given_name=name) for name in ("一郎", "二郎", "三郎")
    )
    issued = {
        person.pk: issue(acme, harry, person, email=f"{person.pk}@example.test")
        for person in (answered, waiting, expired)
    }
    anonymous_client(acme).post(
        f"/s/{token_of(issued[answered.pk])}/", submission([answered.pk], [NUMBER])
    )
    mail.outbox.clear()
    with tenant_context(acme):
        CollectionRequest.objects.update(last_sent_at=timezone.now() - timedelta(days=4))
        CollectionRequest.objects.filter(person=expired).update(
            expires_at=timezone.now() - timedelta(hours=1)
        )
        with committing():
            assert services.send_due_reminders(acme) == 1
        assert services.send_due_reminders(acme) == 0  # not again until the interval passes
        assert CollectionRequest.objects.get(person=expired).status == RequestStatus.EXPIRED
        entry = AccessLogEntry.objects.get(action="remind")
        assert entry.actor_email == "system:collection-reminder" and entry.person_id == waiting.pk
    assert [m.to for m in mail.outbox] == [[f"{waiting.pk}@example.test"]]
    assert "【再送】" in mail.outbox[0].subject
    assert token_of(issued[waiting.pk]) in mail.outbox[0].body


def test_revoking_kills_the_link_and_reissuing_replaces_it(acme, harry):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    handler = signed_in_firm_client(harry, acme)
    handler.post(f"/collection/{issued.request.pk}/reissue/")
    old = anonymous_client(acme).get(f"/s/{token_of(issued)}/")
    assert old.status_code == 410
    with tenant_context(acme):
        request = CollectionRequest.objects.get()
        new_token = services.request_token(acme, request)
    assert anonymous_client(acme).get(f"/s/{new_token}/").status_code == 200
    handler.post(f"/collection/{issued.request.pk}/revoke/")
    assert "取り消されました" in anonymous_client(acme).get(f"/s/{new_token}/").content.decode()
