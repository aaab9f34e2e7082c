"""A number handed over on paper: a handler enters it with the scanned documents."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.collection.models import Channel, CollectionRequest, Document
from tenants.custody.models import MyNumberRecord
from tests.helpers import signed_in_firm_client

from .conftest import PDF_BYTES, jpeg_bytes
from .factories import NUMBER, committing, make_person

pytestmark = pytest.mark.django_db


def form(**overrides) -> dict:
    data = {
        "my_number": "1234-5678-9018",
        "purposes": ["withholding_slip"],
        "method": "resident_record_and_id",
        "document_number_check": SimpleUploadedFile("scan.pdf", PDF_BYTES),
        "document_identity_check": SimpleUploadedFile("license.jpg", jpeg_bytes()),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def files(settings) -> list[Path]:
    root = Path(settings.OBJECT_STORE_LOCAL_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_handler_enters_a_paper_number_with_its_documents(acme, harry, settings):
    person = make_person(acme)
    client = signed_in_firm_client(harry, acme)
    assert "確認書類と一緒に登録する" in client.get(f"/people/{person.pk}/").content.decode()
    with committing():
        response = client.post(f"/collection/paper/{person.pk}/", form())
    assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"
    with tenant_context(acme):
        request = CollectionRequest.objects.get()
        assert request.channel == Channel.PAPER and request.status == "verified"
        assert request.identity_method == "resident_record_and_id"
        assert MyNumberRecord.objects.filter(person=person).exists()
        assert Document.objects.count() == 2
        actions = set(AccessLogEntry.objects.values_list("action", flat=True))
    assert {"create", "verify", "delete_document"} <= actions
    assert files(settings) == []  # the firm's default: images go once the check is done


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"my_number": "1234-5678-9012"}, "検査用数字が一致しません"),
        ({"method": None}, "本人確認の方法を選んでください"),
        (
            {"document_identity_check": SimpleUploadedFile("x.pdf", b"<html></html>")},
            "この形式のファイルは受け付けていません",
        ),
    ],
)
def test_bad_paper_entries_store_nothing(acme, harry, settings, overrides, message):
    person = make_person(acme)
    client = signed_in_firm_client(harry, acme)
    response = client.post(f"/collection/paper/{person.pk}/", form(**overrides))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and NUMBER not in page and "1234-5678-9012" not in page
    assert files(settings) == []
    with tenant_context(acme):
        assert not CollectionRequest.objects.exists() and not MyNumberRecord.objects.exists()


def test_a_viewer_cannot_enter_numbers_on_paper(acme, vera, settings):
    person = make_person(acme)
    response = signed_in_firm_client(vera, acme).post(f"/collection/paper/{person.pk}/", form())
    assert response.status_code == 403 and "許可されていません" in response.content.decode()
    assert files(settings) == []
    with tenant_context(acme):
        assert not MyNumberRecord.objects.exists()
        assert AccessLogEntry.objects.filter(action="people_write", result="denied").exists()
