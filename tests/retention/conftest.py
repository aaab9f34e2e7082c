"""People with numbers whose relationships ended, for the retention tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from tenants.auditlog.services import Actor
from tenants.collection.models import CollectionRequest, Document, RequestStatus, SubmittedNumber
from tenants.custody import services as custody
from tenants.custody.models import Person
from tenants.custody.mynumber import check_digit

SEEDER = Actor.system("test-seed")
# A moment long after every date below is due (JST 2040-06-01 09:00).
FAR_FUTURE = datetime(2040, 6, 1, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_object_store(settings, tmp_path):
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")


def number(index: int) -> str:
    """A valid, distinct number per index (never a real person's: test data)."""
    body = f"{900000000 + index:011d}"
    return body + str(check_digit(body))


def person_with_number(
    firm,
    index: int,
    *,
    ended: date | None = None,
    kind: str = "employee",
    employee: Person | None = None,
    purposes: list[str] | None = None,
) -> Person:
    with tenant_context(firm):
        person = custody.person_create(
            actor=SEEDER,
            data={
                "kind": kind,
                "employee": employee,
                "relationship": "子" if employee else "",
                "family_name": "山田",
                "given_name": f"太郎{index}",
                "family_name_kana": "ヤマダ",
                "given_name_kana": "タロウ",
            },
        )
        custody.number_set(
            actor=SEEDER, firm=firm, person=person, raw=number(index), purpose_codes=purposes
        )
        if ended is not None:
            custody.person_update(actor=SEEDER, person=person, changes={"relationship_end": ended})
        return Person.objects.select_related("employee").get(pk=person.pk)


def add_documents(firm, person: Person, count: int = 2) -> list[Document]:
    """A verified request's stored files and a submitted number still awaiting a decision."""
    from tenants.collection import documents as files

    with tenant_context(firm), transaction.atomic():
        request = CollectionRequest.objects.create(
            person=person,
            token_hash=uuid.uuid4().hex * 2,
            token_ciphertext=b"",
            status=RequestStatus.SUBMITTED,
            expires_at=FAR_FUTURE,
        )
        stored = []
        for _ in range(count):
            document = Document(
                request=request,
                kind="number_check",
                content_type="application/pdf",
                size=10,
                display_name="card.pdf",
            )
            checked = files.CheckedDocument(data=b"%PDF-1.4 test", content_type="application/pdf")
            document.storage_key = files.store_document(firm, document.id, checked)
            document.save()
            stored.append(document)
        SubmittedNumber.objects.create(request=request, person=person, ciphertext=b"sealed")
        return stored
