"""Request → the person answers through the link → a handler verifies → the number is active.
Through the real pages, with real files in the object store and the firm's real keys."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.collection.models import CollectionRequest, Document, RequestStatus, SubmittedNumber
from tenants.custody.models import MyNumberRecord, Person
from tests.helpers import firm_host, signed_in_firm_client

from .factories import (
    DEPENDENT_NUMBER,
    NUMBER,
    anonymous_client,
    committing,
    issue,
    make_person,
    submission,
    token_of,
)

pytestmark = pytest.mark.django_db


def stored_files(settings) -> list[Path]:
    root = Path(settings.OBJECT_STORE_LOCAL_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_the_whole_journey_through_the_pages(acme, harry, settings):
    person = make_person(acme)
    handler = signed_in_firm_client(harry, acme)
    with committing():
        response = handler.post(
            "/collection/new/",
            {
                "people": [person.pk],
                "email": "hanako@example.test",
                "documents": ["number_check", "identity_check"],
            },
        )
    assert response.status_code == 302, response.content.decode()[-1500:]
    detail_url = response["Location"]
    detail = handler.get(detail_url).content.decode()
    assert "提出待ち" in detail and "<svg" in detail  # the QR code, drawn inline

    # The person gets one email, with the link and the purposes, and no number in it.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["hanako@example.test"] and "アクメ株式会社" in message.subject
    link = next(word for word in message.body.split() if "/s/" in word)
    assert urlsplit(link).hostname == firm_host(acme)
    assert link in detail
    assert "源泉徴収" in message.body and message.alternatives

    person_client = anonymous_client(acme)
    path = urlsplit(link).path
    page = person_client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "アクメ株式会社" in html and "利用目的を確認しました" in html
    assert page["Referrer-Policy"] == "same-origin"
    assert 'capture="environment"' in html and 'inputmode="numeric"' in html

    response = person_client.post(path, submission([person.pk], ["1234-5678-9018"]))
    assert response.status_code == 302 and response["Location"] == "/s/done/?lang=ja"
    assert len(stored_files(settings)) == 2
    # Files are sealed with the firm's keys: neither the JPEG marker nor the PDF header shows.
    assert all(
        not f.read_bytes().startswith((b"\xff\xd8", b"%PDF")) for f in stored_files(settings)
    )

    again = person_client.post(path, submission([person.pk], [NUMBER]))
    assert again.status_code == 200 and "既に回答いただいています" in again.content.decode()

    queue = handler.get("/collection/?status=submitted").content.decode()
    assert "山田 花子" in queue
    detail = handler.get(detail_url).content.decode()
    assert "確認待ち" in detail and NUMBER not in detail and "1234-5678-9018" not in detail
    with tenant_context(acme):
        photo = Document.objects.get(kind="number_check")
    shown = handler.get(f"/collection/documents/{photo.pk}/")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert shown.content.startswith(b"\xff\xd8") and "no-store" in shown["Cache-Control"]

    numbers = handler.post(f"{detail_url}numbers/")
    assert numbers.status_code == 200 and "1234-5678-9018" in numbers.content.decode()

    with committing():
        response = handler.post(f"{detail_url}approve/", {"method": "my_number_card"})
    assert response.status_code == 302
    with tenant_context(acme):
        request = CollectionRequest.objects.get()
        assert request.status == RequestStatus.VERIFIED
        assert request.identity_method == "my_number_card"
        assert MyNumberRecord.objects.filter(person=person).exists()
        assert not SubmittedNumber.objects.exists()
        # The firm's default: document images are deleted right after approval, and logged.
        assert all(d.deleted_at is not None and d.storage_key == "" for d in Document.objects.all())
        actions = list(AccessLogEntry.objects.order_by("seq").values_list("action", flat=True))
        details = " ".join(str(e.detail) for e in AccessLogEntry.objects.all())
    assert stored_files(settings) == []
    for action in ("request", "submit", "view_document", "view_submission", "create", "verify",
                   "delete_document"):  # fmt: skip
        assert action in actions, actions
    assert NUMBER not in details

    revealed = handler.post(f"/people/{person.pk}/reveal/", {"purpose": "withholding_slip"})
    assert "1234-5678-9018" in revealed.content.decode()


def test_an_employee_gives_their_dependents_numbers_too(acme, harry):
    employee = make_person(acme)
    child = make_person(
        acme, kind="dependent", employee=employee, relationship="子", given_name="太郎",
        given_name_kana="タロウ",
    )  # fmt: skip
    issued = issue(acme, harry, employee)
    assert issued.request.include_dependents
    client = anonymous_client(acme)
    path = f"/s/{token_of(issued)}/"
    page = client.get(path).content.decode()
    assert f"number_{child.pk}" in page and "扶養親族" in page

    same = client.post(path, submission([employee.pk, child.pk], [NUMBER, NUMBER]))
    assert same.status_code == 400 and "同じ番号が2回" in same.content.decode()
    response = client.post(path, submission([employee.pk, child.pk], [NUMBER, DEPENDENT_NUMBER]))
    assert response.status_code == 302

    handler = signed_in_firm_client(harry, acme)
    response = handler.post(
        f"/collection/{issued.request.pk}/approve/", {"method": "resident_record_and_id"}
    )
    assert response.status_code == 302
    with tenant_context(acme):
        assert set(MyNumberRecord.objects.values_list("person_id", flat=True)) == {
            employee.pk, child.pk,
        }  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"number_PK": "123456789012"}, "検査用数字が一致しません"),
        ({"number_PK": "１２３４５６７８９０１"}, "12桁です"),
        ({"acknowledge": None}, "利用目的を確認し"),
        ({"document_identity_check": None}, "添付してください"),
        (
            {
                "document_number_check": SimpleUploadedFile(
                    "card.pdf", b"<html><script>x</script>", "application/pdf"
                )
            },
            "この形式のファイルは受け付けていません",
        ),
        ({"document_number_check": SimpleUploadedFile("empty.jpg", b"", "image/jpeg")}, "空です"),
        (
            {
                "document_number_check": SimpleUploadedFile(
                    "../../etc/passwd", b"root:x:0:0", "image/jpeg"
                )
            },
            "この形式のファイルは受け付けていません",
        ),
    ],
)
def test_bad_answers_get_a_clear_message_and_store_nothing(
    acme, harry, settings, overrides, field_message
):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    data = submission([person.pk], [NUMBER])
    for key, value in overrides.items():
        key = key.replace("PK", str(person.pk))
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    response = anonymous_client(acme).post(f"/s/{token_of(issued)}/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert field_message in page and "まだ何も保存されていません" in page
    assert NUMBER not in page and "123456789012" not in page
    assert stored_files(settings) == []
    with tenant_context(acme):
        assert CollectionRequest.objects.get().status == RequestStatus.PENDING
        assert not SubmittedNumber.objects.exists() and not Document.objects.exists()
        assert not AccessLogEntry.objects.filter(action="submit").exists()


def test_a_file_over_the_limit_is_refused(acme, harry, settings):
    settings.DOCUMENT_MAX_BYTES = 2000
    person = make_person(acme)
    issued = issue(acme, harry, person)
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * 5000 + b"\n%%EOF\n")
    response = anonymous_client(acme).post(
        f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER], document_identity_check=big)
    )
    assert response.status_code == 400 and "大きすぎます" in response.content.decode()
    assert stored_files(settings) == []


@pytest.mark.parametrize("state", ["expired", "revoked", "tampered", "declined"])
def test_dead_links_say_why(acme, harry, state):
    from datetime import timedelta

    from django.utils import timezone

    person = make_person(acme)
    issued = issue(acme, harry, person)
    token = token_of(issued)
    with tenant_context(acme):
        request = CollectionRequest.objects.get()
        if state == "expired":
            request.expires_at = timezone.now() - timedelta(minutes=1)
        elif state == "revoked":
            request.status = RequestStatus.REVOKED
        elif state == "declined":
            request.status = RequestStatus.DECLINED
        request.save()
    if state == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = anonymous_client(acme).get(f"/s/{token}/")
    expected = {
        "expired": "有効期限が切れています",
        "revoked": "取り消されました",
        "tampered": "このリンクは無効です",
        "declined": "既に回答いただいています",
    }[state]
    assert expected in response.content.decode()
    assert response.status_code == (200 if state == "declined" else 410)
    posted = anonymous_client(acme).post(f"/s/{token}/", submission([person.pk], [NUMBER]))
    assert expected in posted.content.decode()
    with tenant_context(acme):
        assert not SubmittedNumber.objects.exists()


def test_a_link_works_only_on_its_own_firms_host(acme, globex, harry):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    response = anonymous_client(globex).get(f"/s/{token_of(issued)}/")
    assert response.status_code == 410 and "無効です" in response.content.decode()


def test_the_person_may_decline_with_a_reason(acme, harry):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    client = anonymous_client(acme)
    path = f"/s/{token_of(issued)}/decline/"
    empty = client.post(path, {"reason": " "})
    assert empty.status_code == 400 and "理由を入力してください" in empty.content.decode()
    with_number = client.post(path, {"reason": f"番号は {NUMBER} ですが出しません"})
    assert with_number.status_code == 400 and NUMBER not in with_number.content.decode()
    response = client.post(path, {"reason": "番号の提供に同意しないため"})
    assert response.status_code == 302
    with tenant_context(acme):
        request = CollectionRequest.objects.get()
        assert request.status == RequestStatus.DECLINED
        assert request.decline_reason == "番号の提供に同意しないため"
        entry = AccessLogEntry.objects.get(action="decline")
        assert entry.actor_role == "subject" and entry.person_id == person.pk
    page = signed_in_firm_client(harry, acme).get(f"/collection/{request.pk}/").content.decode()
    assert "提供拒否" in page and "番号の提供に同意しないため" in page


def test_rejecting_sends_a_new_link_and_deletes_what_was_sent(acme, harry, settings):
    person = make_person(acme)
    issued = issue(acme, harry, person, email="hanako@example.test")
    old_path = f"/s/{token_of(issued)}/"
    anonymous_client(acme).post(old_path, submission([person.pk], [NUMBER]))
    handler = signed_in_firm_client(harry, acme)
    no_reason = handler.post(f"/collection/{issued.request.pk}/reject/", {"reason": ""})
    assert no_reason.status_code == 400
    with committing():
        response = handler.post(
            f"/collection/{issued.request.pk}/reject/", {"reason": "写真がぼやけて読めません"}
        )
    assert response.status_code == 302
    assert stored_files(settings) == []
    with tenant_context(acme):
        old = CollectionRequest.objects.get(pk=issued.request.pk)
        assert old.status == RequestStatus.REJECTED and old.follow_up is not None
        assert old.follow_up.status == RequestStatus.PENDING
        assert not SubmittedNumber.objects.exists()
        assert not MyNumberRecord.objects.exists()
    assert len(mail.outbox) == 2 and "写真がぼやけて読めません" in mail.outbox[1].body
    new_link = next(word for word in mail.outbox[1].body.split() if "/s/" in word)
    assert urlsplit(new_link).path != old_path
    assert "既に回答" in anonymous_client(acme).get(old_path).content.decode()
    assert anonymous_client(acme).get(urlsplit(new_link).path).status_code == 200


def test_a_number_held_by_someone_else_cannot_be_approved(acme, harry):
    first = make_person(acme)
    second = make_person(acme, given_name="次郎", given_name_kana="ジロウ")
    for person in (first, second):
        issued = issue(acme, harry, person)
        anonymous_client(acme).post(f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER]))
    handler = signed_in_firm_client(harry, acme)
    with tenant_context(acme):
        requests = list(CollectionRequest.objects.order_by("id"))
    assert handler.post(f"/collection/{requests[0].pk}/approve/", {"method": "my_number_card"})
    response = handler.post(
        f"/collection/{requests[1].pk}/approve/", {"method": "my_number_card"}, follow=True
    )
    assert "既に別の方に登録されています" in response.content.decode()
    with tenant_context(acme):
        assert CollectionRequest.objects.get(pk=requests[1].pk).status == RequestStatus.SUBMITTED
        assert not MyNumberRecord.objects.filter(person=second).exists()


def test_other_method_needs_a_note(acme, harry):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    anonymous_client(acme).post(f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER]))
    handler = signed_in_firm_client(harry, acme)
    response = handler.post(
        f"/collection/{issued.request.pk}/approve/", {"method": "other"}, follow=True
    )
    assert "備考に内容を書いてください" in response.content.decode()
    with tenant_context(acme):
        assert CollectionRequest.objects.get().status == RequestStatus.SUBMITTED


def test_documents_can_be_kept_after_approval_when_the_firm_says_so(acme, harry, settings):
    from tenants.workspace.models import FirmSettings

    with tenant_context(acme):
        FirmSettings.objects.update_or_create(
            singleton=True, defaults={"delete_documents_after_approval": False}
        )
    person = make_person(acme)
    issued = issue(acme, harry, person)
    anonymous_client(acme).post(f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER]))
    with committing():
        signed_in_firm_client(harry, acme).post(
            f"/collection/{issued.request.pk}/approve/", {"method": "my_number_card"}
        )
    assert len(stored_files(settings)) == 2
    with tenant_context(acme):
        assert not Document.objects.filter(deleted_at__isnull=False).exists()
        assert Person.objects.get(pk=person.pk).has_number


def test_documents_go_to_s3_sealed_and_are_removed_after_approval(acme, harry, s3_store):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    response = anonymous_client(acme).post(
        f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER])
    )
    assert response.status_code == 302
    keys = s3_store.keys()
    assert len(keys) == 2 and all(key.startswith(f"{acme.schema_name}/documents/") for key in keys)
    assert all(not s3_store.raw(key).startswith((b"\xff\xd8", b"%PDF")) for key in keys)

    handler = signed_in_firm_client(harry, acme)
    with tenant_context(acme):
        photo = Document.objects.get(kind="number_check")
    shown = handler.get(f"/collection/documents/{photo.pk}/")
    assert shown.status_code == 200 and shown.content.startswith(b"\xff\xd8")
    with committing():
        handler.post(f"/collection/{issued.request.pk}/approve/", {"method": "my_number_card"})
    assert s3_store.keys() == []
    # The bucket is versioned: no older version or delete marker is left either.
    assert s3_store.versions() == []


def test_an_unreachable_store_fails_the_submission_cleanly(acme, harry, settings):
    from tests.helpers import closed_port

    settings.OBJECT_STORE = "s3"
    settings.OBJECT_STORE_S3_BUCKET = "nowhere"
    settings.OBJECT_STORE_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"
    settings.OBJECT_STORE_S3_MAX_ATTEMPTS = 1
    person = make_person(acme)
    issued = issue(acme, harry, person)
    response = anonymous_client(acme).post(
        f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER])
    )
    assert response.status_code == 503
    page = response.content.decode()
    assert "ただいま提出を受け付けられません" in page and NUMBER not in page
    with tenant_context(acme):
        assert CollectionRequest.objects.get().status == RequestStatus.PENDING
        assert not Document.objects.exists() and not SubmittedNumber.objects.exists()
