"""Bulk import: every row checked first; then all rows in one transaction, or none."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Role
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.auditlog.verification import verify_chain
from tenants.custody.errors import NotAllowed
from tenants.custody.importing import ImportRejected, ImportRow, people_import
from tenants.custody.models import MyNumberRecord, Person
from tenants.custody.mynumber import check_digit
from tenants.custody.services import number_reveal

pytestmark = pytest.mark.django_db


def valid(i: int) -> str:
    body = f"{20_000_000_000 + i:011d}"
    return body + str(check_digit(body))


def row(i: int, **extra) -> ImportRow:
    data = dict(kind="employee", family_name="山田", given_name=f"{i}郎",
                family_name_kana="ヤマダ", given_name_kana="タロウ", my_number=valid(i))  # fmt: skip
    data.update(extra)
    return ImportRow(**data)


@pytest.fixture
def owner(acme, alice):
    with tenant_context(acme):
        yield Actor(user_id=alice.pk, email=alice.email, role=Role.OWNER)


def test_import_creates_people_numbers_and_one_log_entry_each(acme, owner):
    assert people_import(actor=owner, firm=acme, rows=[row(i) for i in range(50)]) == 50
    assert Person.objects.count() == 50 and MyNumberRecord.objects.count() == 50
    creates = AccessLogEntry.objects.filter(action="create")
    assert creates.count() == 50
    assert verify_chain().ok
    someone = Person.objects.get(given_name="7郎")
    assert number_reveal(
        actor=owner, firm=acme, person=someone, purpose_code="withholding_slip"
    ) == valid(7)


def test_a_bad_row_rejects_the_whole_file_with_row_field_and_reason(acme, owner):
    people_import(actor=owner, firm=acme, rows=[row(1)])
    rows = [
        row(2),
        row(3, my_number="123456789012"),  # check digit
        row(4, family_name=""),
        row(5, my_number=valid(2)),  # same as row 1 of this file
        row(6, my_number=valid(1)),  # already held by someone
        row(7, purposes=["nope"]),
        row(8, kind="dependent"),
    ]
    with pytest.raises(ImportRejected) as rejected:
        people_import(actor=owner, firm=acme, rows=rows)
    found = {(e.row, e.field) for e in rejected.value.errors}
    assert found == {(2, "my_number"), (3, "family_name"), (4, "my_number"), (5, "my_number"),
                     (6, "purposes"), (7, "kind")}  # fmt: skip
    assert all(valid(1) not in e.reason and valid(2) not in e.reason for e in rejected.value.errors)
    assert Person.objects.count() == 1  # nothing of the second file was written
    assert AccessLogEntry.objects.filter(action="create").count() == 1


def test_a_viewer_cannot_import(acme, vera):
    with tenant_context(acme):
        viewer = Actor(user_id=vera.pk, email=vera.email, role=Role.VIEWER)
        with pytest.raises(NotAllowed):
            people_import(actor=viewer, firm=acme, rows=[row(1)])
        assert not Person.objects.exists()
