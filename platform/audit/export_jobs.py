"""Consolidated exports from the UI: who may export which firms, the background job with its
progress, the encrypted file with a download window, and the optional push to S3.

The file holds no number (the log never does), but it names people and staff, so it rests
encrypted: AES-256-GCM under a key derived from SECRET_KEY (HKDF, its own `info`), bound to
the job's id. It is readable only through `export_file`, by the user who asked, until the
window closes; then the sweep removes it.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role, User
from firms.models import Firm
from objectstore import object_store
from tenants.auditlog.services import Actor, log_access

from .export import FORMATS, export_audit
from .models import AuditExportJob

# Who may export a firm's log: its owners, and the accountants who file for it.
AUDIT_ROLES = (Role.OWNER, Role.ACCOUNTANT)
MAX_DAYS = 3660


def auditable_firms(user: User) -> list[Firm]:
    return [
        membership.firm
        for membership in Membership.objects.filter(user=user, role__in=AUDIT_ROLES)
        .select_related("firm")
        .order_by("firm__name")
    ]


def job_request(*, user: User, firm_ids: list[int], since: date, until: date,
                file_format: str) -> AuditExportJob:  # fmt: skip
    allowed = {firm.pk: firm for firm in auditable_firms(user)}
    chosen = [allowed[pk] for pk in firm_ids if pk in allowed]
    if not firm_ids or len(chosen) != len(set(firm_ids)):
        raise ValidationError(_("出力する事業者を、権限のある事業者から選んでください。"))
    if until < since or (until - since).days > MAX_DAYS:
        raise ValidationError(_("期間を確認してください（開始日は終了日以前、最長10年）。"))
    if file_format not in FORMATS:
        raise ValidationError(_("形式を選んでください。"))
    with transaction.atomic():
        job = AuditExportJob.objects.create(
            requested_by=user, since=since, until=until, file_format=file_format,
            firms_total=len(chosen),
        )  # fmt: skip
        job.firms.set(chosen)
        for firm in chosen:
            # The export is itself an access to the firm's log, on the firm's record.
            role = Membership.objects.get(user=user, firm=firm).role
            with tenant_context(firm), transaction.atomic():
                log_access(actor=Actor(user_id=user.pk, email=user.email, role=role),
                           action="audit_export",
                           detail={"job": str(job.pk), "since": since.isoformat(),
                                   "until": until.isoformat()})  # fmt: skip
        transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: AuditExportJob) -> None:
    from .tasks import run_export_job

    run_export_job.delay(str(job.pk))


def _key() -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mynumber-custody:audit-export"
    ).derive(settings.SECRET_KEY.encode())


def _seal(job: AuditExportJob, data: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_key()).encrypt(nonce, data, str(job.pk).encode())


def _unseal(job: AuditExportJob, blob: bytes) -> bytes:
    return AESGCM(_key()).decrypt(blob[:12], blob[12:], str(job.pk).encode())


def _bounds(job: AuditExportJob) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(job.since, time.min, tzinfo=zone),
        datetime.combine(job.until + timedelta(days=1), time.min, tzinfo=zone),
    )


def job_run(job_id: str) -> AuditExportJob:
    """Make the file: progress after each firm, then seal, store and (if set) push it."""
    job = AuditExportJob.objects.get(pk=job_id)
    if job.status == AuditExportJob.Status.DONE:
        return job  # a redelivered task
    job.status, job.started_at = AuditExportJob.Status.RUNNING, timezone.now()
    job.save(update_fields=["status", "started_at"])
    since, until = _bounds(job)

    def progress(done: int, entries: int) -> None:
        AuditExportJob.objects.filter(pk=job.pk).update(firms_done=done, entries=entries)

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"audit-export.{job.file_format}"
        try:
            result = export_audit(firms=list(job.firms.all()), since=since, until=until,
                                  out=out, file_format=job.file_format, progress=progress)  # fmt: skip
            data = out.read_bytes()
            key = f"platform/audit-exports/{job.pk}"
            object_store().put(key, _seal(job, data))
            pushed = _push(job, data)
        except Exception as error:
            job.status, job.finished_at = AuditExportJob.Status.FAILED, timezone.now()
            job.error = type(error).__name__
            job.save(update_fields=["status", "finished_at", "error"])
            raise
    job.refresh_from_db()
    job.status, job.finished_at = AuditExportJob.Status.DONE, timezone.now()
    job.entries, job.sha256, job.storage_key = result.entries, result.sha256, key
    job.pushed_to = pushed
    job.expires_at = job.finished_at + timedelta(hours=settings.AUDIT_EXPORT_DOWNLOAD_HOURS)
    job.save()
    return job


def _push(job: AuditExportJob, data: bytes) -> str:
    """Copy the signed file to AUDIT_EXPORT_S3_BUCKET (an Object Lock bucket in production:
    infra/), when set. Returns where it went."""
    bucket = settings.AUDIT_EXPORT_S3_BUCKET
    if not bucket:
        return ""
    from objectstore.s3 import s3_client

    client = s3_client(
        endpoint_url=settings.AUDIT_EXPORT_S3_ENDPOINT_URL or settings.OBJECT_STORE_S3_ENDPOINT_URL,
        region=settings.AWS_REGION,
        access_key_id=settings.AWS_ACCESS_KEY_ID,
        secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        connect_timeout=settings.OBJECT_STORE_S3_CONNECT_TIMEOUT,
        read_timeout=settings.OBJECT_STORE_S3_READ_TIMEOUT,
        max_attempts=settings.OBJECT_STORE_S3_MAX_ATTEMPTS,
    )
    key = f"audit-exports/{job.created_at:%Y/%m}/{job.pk}.{job.file_format}"
    client.put_object(Bucket=bucket, Key=key, Body=data)
    return f"s3://{bucket}/{key}"


def export_file(*, user: User, job: AuditExportJob) -> bytes:
    if job.requested_by_id != user.pk:
        raise ValidationError(_("この出力はあなたが依頼したものではありません。"))
    if job.status != AuditExportJob.Status.DONE or not job.storage_key:
        raise ValidationError(_("まだ出力が完了していません。"))
    if job.expires_at is None or job.expires_at <= timezone.now():
        raise ValidationError(_("ダウンロードの期限が過ぎました。もう一度出力してください。"))
    return _unseal(job, object_store().get(job.storage_key))


def purge_expired_exports() -> int:
    """Remove files past their download window (hourly, from beat)."""
    removed = 0
    for job in AuditExportJob.objects.filter(expires_at__lte=timezone.now()).exclude(
        storage_key=""
    ):
        object_store().delete(job.storage_key)
        AuditExportJob.objects.filter(pk=job.pk).update(storage_key="")
        removed += 1
    return removed
