"""Issue 16, finding 1: the final archive is sealed with the firm's own keys, so destroying
the firm's key leaves no copy of it readable (a backup of the bucket and of the database
included); and the schema drop removes every version of every object of the firm from a
versioned bucket, and proves it by listing them."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from firms.models import OffboardingRecord
from firms.offboarding import (
    certificate_rows,
    offboarding_archive,
    offboarding_confirm_downloaded,
    offboarding_export,
    offboarding_request,
    offboarding_sweep,
)
from keys.errors import KeyUnavailable
from objectstore import object_store
from operators.models import OperatorLogEntry
from tests import s3_server as s3_fixtures
from tests.keys.custody_helpers import seal_numbers
from tests.retention.conftest import add_documents, person_with_number

from .conftest import code_for, later, membership, unzip

# The S3 fixtures, for this module (tests/s3_server.py).
s3_server = s3_fixtures.s3_server
s3_store = s3_fixtures.s3_store


def _exported(firm, owner) -> OffboardingRecord:
    record = offboarding_request(membership(owner, firm), include_numbers=True,
                                 totp_code=code_for(owner))  # fmt: skip
    return offboarding_export(record)


def _open_with_the_platform_key(record: OffboardingRecord, blob: bytes) -> bytes:
    """How archives were sealed before issue 16: one key for every firm, derived from
    SECRET_KEY, which crypto-shredding never touches."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"mynumber-custody:offboarding-archive").derive(settings.SECRET_KEY.encode())  # fmt: skip
    return AESGCM(key).decrypt(blob[:12], blob[12:], f"offboarding-archive:{record.pk}".encode())


def test_a_kept_copy_of_the_archive_opens_no_more_once_the_key_is_destroyed(
    acme, alice, django_capture_on_commit_callbacks
):
    people = seal_numbers(acme, 2)
    record = _exported(acme, alice)
    kept = object_store().get(record.archive_key)  # a backup of the bucket, say
    # Until the key is destroyed the owner downloads it, numbers and all.
    files = unzip(offboarding_archive(membership(alice, acme)))
    assert all(str(number) in files["people.csv"].decode() for number in people.values())
    # Only the firm's keys open it: the platform-wide key of old does not.
    with pytest.raises(InvalidTag):
        _open_with_the_platform_key(record, kept)
    with django_capture_on_commit_callbacks(execute=True):
        offboarding_confirm_downloaded(membership(alice, acme), totp_code=code_for(alice))
    assert not object_store().versions(f"{acme.schema_name}/offboarding/")
    # Restore the backup (the blob, and the record as it was before the shredding): the
    # download path itself can no longer open it.
    object_store().put(record.archive_key, kept)
    OffboardingRecord.objects.filter(pk=record.pk).update(
        stage=OffboardingRecord.Stage.EXPORTED, archive_key=record.archive_key
    )
    with pytest.raises(KeyUnavailable):
        offboarding_archive(membership(alice, acme))


def test_the_drop_removes_every_version_of_every_firm_object_and_proves_it(
    acme, alice, globex, s3_store
):
    person = person_with_number(acme, 1)
    documents = add_documents(acme, person, count=2)
    # A document sealed twice (a retried upload) has two versions in the versioned bucket.
    from tenants.collection import documents as files

    files.store_document(acme, documents[0].id,
                         files.CheckedDocument(data=b"%PDF-1.4 again", content_type="application/pdf"))  # fmt: skip
    neighbour = add_documents(globex, person_with_number(globex, 2), count=1)
    _exported(acme, alice)
    prefix = f"{acme.schema_name}/"
    assert {key for key, _ in s3_store.versions(prefix)} >= {d.storage_key for d in documents}
    assert offboarding_sweep(now=later(31)).failed == []  # the key goes
    assert offboarding_sweep(now=later(39)).dropped == ["acme"]
    assert s3_store.versions(prefix) == []
    assert [key for key, _ in s3_store.versions()] == [neighbour[0].storage_key]
    entry = OperatorLogEntry.objects.get(action="offboarding_schema_drop")
    assert entry.detail["objects_prefix"] == prefix
    assert entry.detail["objects_removed"] >= 3 and entry.detail["objects_remaining"] == 0
    rows = dict(certificate_rows(OffboardingRecord.objects.get()))
    assert rows["stored_objects_remaining"] == "0"


def test_an_archive_that_does_not_authenticate_is_a_logged_refusal(acme, alice):
    from django_tenants.utils import tenant_context

    from keys.errors import CiphertextInvalid
    from tenants.auditlog.models import AccessLogEntry

    seal_numbers(acme, 1)
    record = _exported(acme, alice)
    blob = bytearray(object_store().get(record.archive_key))
    blob[-40] ^= 1  # one bit of the last chunk's ciphertext
    object_store().put(record.archive_key, bytes(blob))
    with pytest.raises(CiphertextInvalid):
        offboarding_archive(membership(alice, acme))
    with tenant_context(acme):
        [denied] = AccessLogEntry.objects.filter(result="denied", action="offboarding")
        allowed = AccessLogEntry.objects.filter(detail__event="archive_download", result="allowed")
        assert not allowed.exists()  # nothing logged as downloaded
    assert denied.detail == {"event": "archive_download", "reason": "integrity_failure"}
