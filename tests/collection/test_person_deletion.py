"""Issue 16, finding 3: deleting a person removes their ID-document files from object storage
(every version, on the versioned bucket), and the deletion is recorded: a deletion record
and a log entry that name the documents, never the number. A removal that fails after the
commit is finished by the collection sweep, which removes files no row points at."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from objectstore import ObjectStoreUnavailable, object_store
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.collection import documents as files
from tenants.collection.services import purge_orphan_documents
from tenants.custody import services as custody
from tenants.custody.models import Person
from tenants.retention.models import DeletionRecord
from tests.helpers import signed_in_firm_client
from tests.retention.conftest import add_documents, number, person_with_number


def _versions(firm) -> set[str]:
    return {v.key for v in object_store().versions(f"{firm.schema_name}/documents/")}


def _owner(user) -> Actor:
    return Actor(user_id=user.pk, email=user.email, role="owner")


def test_deleting_a_person_on_the_web_removes_every_version_of_their_documents(
    acme, alice, s3_store, django_capture_on_commit_callbacks
):
    person = person_with_number(acme, 1)
    documents = add_documents(acme, person, count=2)
    # Sealed again under the same key (a retried upload): a second version in the bucket.
    files.store_document(acme, documents[0].id, files.CheckedDocument(
        data=b"%PDF-1.4 again", content_type="application/pdf"))  # fmt: skip
    other = add_documents(acme, person_with_number(acme, 2), count=1)
    keys = {d.storage_key for d in documents}
    assert len([k for k, _ in s3_store.versions() if k in keys]) == 3
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in_firm_client(alice, acme).post(f"/people/{person.pk}/delete/")
    assert response.status_code == 302
    assert [key for key, _ in s3_store.versions()] == [other[0].storage_key]
    with tenant_context(acme):
        assert not Person.objects.filter(pk=person.pk).exists()
        [record] = DeletionRecord.objects.filter(person_id=person.pk)
        entry = AccessLogEntry.objects.filter(action="delete", person_id=person.pk).get()
    assert record.documents_deleted == 2 and "documents" in record.data_types
    assert "my_number" in record.data_types
    assert (record.deleted_by, record.trigger, record.method) == (alice.email, "manual", "erase")
    assert entry.detail["documents"] == 2 and entry.actor_email == alice.email
    assert number(1) not in str(entry.detail) + record.person_name + str(record.data_types)


def test_a_removal_that_fails_after_the_commit_is_finished_by_the_sweep(
    acme, alice, monkeypatch, django_capture_on_commit_callbacks
):
    person = person_with_number(acme, 3)
    documents = add_documents(acme, person, count=2)
    kept = add_documents(acme, person_with_number(acme, 4), count=1)
    store = type(object_store())

    def unreachable(self, key):
        raise ObjectStoreUnavailable("the store does not answer")

    with tenant_context(acme):
        with monkeypatch.context() as patched:
            patched.setattr(store, "delete", unreachable)
            with django_capture_on_commit_callbacks(execute=True):
                custody.person_delete(actor=_owner(alice), person=person)
        assert not Person.objects.filter(pk=person.pk).exists()
        assert {d.storage_key for d in documents} <= _versions(acme)
        # A file stored a moment ago whose row has not committed yet is not an orphan.
        files.store_document(acme, uuid.uuid4(), files.CheckedDocument(
            data=b"%PDF-1.4 in flight", content_type="application/pdf"))  # fmt: skip
        assert purge_orphan_documents(acme) == 0
        removed = purge_orphan_documents(acme, now=timezone.now() + timedelta(hours=2))
    assert removed == 3  # the two orphans, and the one whose row never came
    assert _versions(acme) == {kept[0].storage_key}


def test_a_refused_deletion_removes_no_file(acme, alice, django_capture_on_commit_callbacks):
    employee = person_with_number(acme, 5)
    documents = add_documents(acme, employee, count=1)
    person_with_number(acme, 6, kind="dependent", employee=employee)
    with tenant_context(acme):
        # Refused while a dependent hangs off the employee (how it is refused is the error
        # layer's business): the files and the person stay, and nothing says deleted.
        with pytest.raises(Exception), django_capture_on_commit_callbacks(execute=True):  # noqa: B017
            custody.person_delete(actor=_owner(alice), person=employee)
        assert Person.objects.filter(pk=employee.pk).exists()
        assert not DeletionRecord.objects.filter(person_id=employee.pk).exists()
    assert documents[0].storage_key in _versions(acme)


def test_the_reminder_task_removes_files_no_row_names(acme, settings):
    import os
    from pathlib import Path

    from tenants.collection.tasks import remind_firm

    kept = add_documents(acme, person_with_number(acme, 8), count=1)
    orphan = files.store_document(acme, uuid.uuid4(), files.CheckedDocument(
        data=b"%PDF-1.4 orphan", content_type="application/pdf"))  # fmt: skip
    two_hours_ago = timezone.now().timestamp() - 7200
    os.utime(Path(settings.OBJECT_STORE_LOCAL_DIR) / orphan, (two_hours_ago, two_hours_ago))
    with tenant_context(acme):
        remind_firm(acme.schema_name)
    assert _versions(acme) == {kept[0].storage_key}
