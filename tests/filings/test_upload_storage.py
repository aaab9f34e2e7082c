"""The sealed upload as it is stored (issue 17): receive writes the ciphertext into the
filing's row as a binary parameter (not through the ORM's hex literal, docs/benchmarks.md
"Filings"), so what is read back must be exactly what was sealed, and a download works
whether it is given the filing receive returned or one read again by its id."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain
from tenants.custody.models import Person
from tenants.filings import workflow
from tenants.filings.models import Filing
from tenants.filings.records import parse, strip_numbers
from tests.filings.test_fill import OWNER, handler, row, upload
from tests.filings.test_records import number

pytestmark = pytest.mark.django_db


@pytest.fixture
def ichiro(acme):
    from tenants.custody import services as custody

    with tenant_context(acme):
        person = Person.objects.create(kind="employee", family_name="髙橋", given_name="一郎",
                                       family_name_kana="タカハシ", given_name_kana="イチロウ")  # fmt: skip
        custody.number_set(actor=OWNER, firm=acme, person=person, raw=number(1),
                           purpose_codes=None)  # fmt: skip
    return person


def test_the_stored_upload_opens_to_the_same_bytes_and_downloads_filled(acme, harry, ichiro):
    data = upload(row("高橋 一郎"), row("高橋 一郎"))
    actor = handler(harry)
    with tenant_context(acme):
        received = workflow.receive(actor=actor, firm=acme, data=data)
        stored = Filing.objects.get(pk=received.pk)
        assert bytes(stored.ciphertext) == received.ciphertext != b""
        assert data not in bytes(stored.ciphertext)  # sealed, not the upload itself
        assert workflow.opened(acme, stored)[1] == data
        assert (stored.status, stored.fill_count, stored.row_count) == ("ready", 2, 2)
        # The filing receive returned and the one read again download the same file.
        _name, first = workflow.download(actor=actor, firm=acme, filing=received)
        _name, again = workflow.download(actor=actor, firm=acme, filing=workflow.get(
            actor=actor, filing_id=received.pk))  # fmt: skip
        assert AccessLogEntry.objects.filter(action="filing_upload").count() == 1
        assert AccessLogEntry.objects.filter(action="export", person_id=ichiro.pk).count() == 2
        assert verify_chain().ok
    assert first == again
    filled = parse(first)
    assert [record.text(95, "cp932") for record in filled.records] == [number(1)] * 2
    assert strip_numbers(filled) == data
