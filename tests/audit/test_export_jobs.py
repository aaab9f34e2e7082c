"""Exports from the UI: only firms the user may audit, progress, an encrypted file with a
download window, and a copy pushed to S3."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit import sealing
from audit.export_jobs import job_run, purge_expired_exports
from audit.models import AuditExportJob
from infra.audit.verify_audit_export import verify
from tenants.auditlog.models import AccessLogEntry
from tests.helpers import signed_in_public_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_export_files")]


def ask(client, firms, **extra):
    today = timezone.localdate().isoformat()
    return client.post(
        "/audit-exports/",
        {
            "firms": [f.pk for f in firms],
            "since": today,
            "until": today,
            "format": "jsonl",
            **extra,
        },
    )


def test_an_owner_exports_their_firm_and_downloads_a_file_that_verifies(acme, alice, tmp_path):
    client = signed_in_public_client(alice)
    assert acme.name in client.get("/audit-exports/").content.decode()
    ask(client, [acme])
    job = AuditExportJob.objects.get()
    status = client.get(f"/audit-exports/{job.pk}/status/").json()
    assert status["status"] == "queued" and status["firms_total"] == 1
    job_run(str(job.pk))
    job.refresh_from_db()
    assert job.status == "done" and job.entries >= 1 and job.percent == 100
    blob = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()][0].read_bytes()
    assert b'"type":"manifest"' not in blob  # encrypted at rest
    response = client.get(f"/audit-exports/{job.pk}/download/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    report = verify(b"".join(response.streaming_content))
    assert report.firms == ["acme"]
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(
            action="audit_export", actor_email=alice.email
        ).exists()


def test_firms_one_may_not_audit_are_refused(acme, globex, alice, harry):
    assert ask(signed_in_public_client(alice), [acme, globex]).status_code == 302
    assert not AuditExportJob.objects.exists()
    ask(signed_in_public_client(harry), [acme])  # a handler is not an auditor here
    assert not AuditExportJob.objects.exists()


def test_only_the_requester_downloads_and_only_within_the_window(acme, alice, carol):
    client = signed_in_public_client(alice)
    ask(client, [acme])
    job = AuditExportJob.objects.get()
    job_run(str(job.pk))
    other = signed_in_public_client(carol)
    assert other.get(f"/audit-exports/{job.pk}/download/").status_code == 404
    assert other.get(f"/audit-exports/{job.pk}/status/").status_code == 404
    AuditExportJob.objects.filter(pk=job.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(f"/audit-exports/{job.pk}/download/", follow=True)
    assert "期限が過ぎました" in response.content.decode()
    assert purge_expired_exports() == 1
    assert AuditExportJob.objects.get(pk=job.pk).storage_key == ""


def test_a_finished_export_is_pushed_to_s3(acme, alice, settings, s3_store):
    settings.AUDIT_EXPORT_S3_BUCKET = s3_store.name
    settings.OBJECT_STORE = "local"  # the encrypted copy stays local; the push goes to S3
    ask(signed_in_public_client(alice), [acme])
    job = job_run(str(AuditExportJob.objects.get().pk))
    assert job.pushed_to.startswith(f"s3://{s3_store.name}/audit-exports/")
    key = job.pushed_to.split("/", 3)[3]
    assert verify(s3_store.raw(key)).firms == ["acme"]


def _stored(tmp_path: Path) -> Path:
    return next(p for p in (tmp_path / "objects").rglob("*") if p.is_file())


def _sealed_chunks(blob: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each chunk record after the magic."""
    offset, chunks = len(sealing.MAGIC), []
    while offset < len(blob):
        _flag, length, _nonce = sealing._HEADER.unpack_from(blob, offset)
        size = sealing._HEADER.size + length
        chunks.append((offset, size))
        offset += size
    return chunks


@pytest.mark.parametrize("damage", ["flip", "truncate", "drop_last", "append"])
def test_a_damaged_stored_file_is_refused_with_a_clear_message(acme, alice, tmp_path, damage):
    client = signed_in_public_client(alice)
    ask(client, [acme])
    job = job_run(str(AuditExportJob.objects.get().pk))
    stored = _stored(tmp_path)
    blob = bytearray(stored.read_bytes())
    if damage == "flip":
        blob[-5] ^= 0x01  # a bit inside the last chunk's ciphertext
    elif damage == "truncate":
        del blob[len(blob) // 2 :]
    elif damage == "drop_last":
        offset, _size = _sealed_chunks(bytes(blob))[-1]
        del blob[offset:]
    else:
        blob += b"extra"
    stored.write_bytes(bytes(blob))
    response = client.get(f"/audit-exports/{job.pk}/download/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain and "壊れているか、改ざんされています" in page
    assert '"type":"manifest"' not in page


def test_sealing_in_chunks_detects_reordering_truncation_and_another_file(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(bytes(range(256)) * 40)  # 10,240 bytes: 11 chunks of 1,000
    sealed = tmp_path / "sealed"
    key, context = b"k" * 32, b"job-1"
    assert sealing.seal_file(plain, sealed, key=key, context=context, chunk_size=1000) == 11

    def unseal(blob: bytes, ctx: bytes = context) -> bytes:
        import io

        return b"".join(sealing.unseal_stream(io.BytesIO(blob), key=key, context=ctx))

    blob = sealed.read_bytes()
    assert unseal(blob) == plain.read_bytes()
    chunks = _sealed_chunks(blob)
    assert len(chunks) == 11
    (a_off, a_len), (b_off, b_len) = chunks[1], chunks[2]
    swapped = blob[:a_off] + blob[b_off : b_off + b_len] + blob[a_off : a_off + a_len]
    swapped += blob[b_off + b_len :]
    with pytest.raises(sealing.SealBroken, match="chunk 1 was altered or is out of place"):
        unseal(swapped)
    # Cut at a chunk boundary: every chunk kept is intact, but the last one is missing.
    with pytest.raises(sealing.SealBroken, match="ends before its last chunk"):
        unseal(blob[: chunks[5][0]])
    with pytest.raises(sealing.SealBroken, match="chunk 0"):
        unseal(blob, b"job-2")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    sealing.seal_file(empty, sealed, key=key, context=context)
    assert unseal(sealed.read_bytes()) == b""
