"""Consolidated exports from the UI: who may export which firms, the background job with its
progress (entries done of those counted at the start, stored on the job, config.progress),
the encrypted file with a download window, and the optional push to S3.

The file holds no number (the log never does), but it names people and staff, so it rests
encrypted: AES-256-GCM in chunks of 1 MiB (audit.sealing), under a key derived from the
platform key (keys.platform_key.derive: HKDF, purpose "audit-export", the job's id as salt),
never SECRET_KEY, each chunk bound to the job, its index and whether it is the last. The
platform key's version is the last part of the storage key (`.../<job id>/v<N>`), so the
file still opens after the platform key rotates. It is readable only through `export_stream`, by the user
who asked, until the window closes; then the sweep removes it.

Memory stays flat whatever the size: the export streams into a temporary file, the file is
sealed chunk by chunk into a second one, both go to storage from the file (a block copy, or
an S3 multipart upload), and a download decrypts chunk by chunk.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts.models import Membership, User
from authz.actions import Action
from authz.decide import memberships_for
from config.progress import ProgressWriter
from firms.models import Firm
from keys import platform_key
from keys.errors import CiphertextInvalid
from objectstore import ObjectMissing, object_store
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, log_in_firm

from .export import FORMATS, export_audit
from .models import AuditExportJob
from .sealing import SealBroken, check_stream, seal_file, unseal_stream

logger = logging.getLogger(__name__)

# Who may export a firm's log: its owners, and the accountants who file for it.
MAX_DAYS = 3660


def auditable_firms(user: User) -> list[Firm]:
    """The firms whose log the user may export now: the authorization layer's memberships
    for audit exports (owner or accountant, an active account, MFA)."""
    memberships = memberships_for(user, Action.AUDIT_EXPORT)
    return sorted((membership.firm for membership in memberships), key=lambda firm: firm.name)


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
        roles = dict(
            Membership.objects.filter(user=user, firm__in=chosen).values_list("firm_id", "role")
        )
        detail = {"job": str(job.pk), "since": since.isoformat(), "until": until.isoformat()}
        for firm in chosen:
            # The export is itself an access to the firm's log, on the firm's record.
            actor = Actor(user_id=user.pk, email=user.email, role=roles[firm.pk])
            log_in_firm(firm, actor=actor, action="audit_export", detail=detail)
        transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: AuditExportJob, queue: str | None = None) -> bool:
    """Send the job's task. With the broker down the request that asked still succeeds: the
    job stays queued on its row and `dispatch_queued_exports` (beat, every minute) sends it
    again once the broker is back (docs/decisions.md D25). Returns whether it was sent."""
    from config.celery import send_or_log

    from .tasks import run_export_job

    return send_or_log(run_export_job, [str(job.pk)], what=f"audit export {job.pk}", queue=queue)


def dispatch_queued_exports(queue: str | None = None) -> int:
    """Send again every job still queued AUDIT_EXPORT_REDISPATCH_SECONDS after it was asked
    for: its first send failed (broker down) or its message was lost. A job runs once
    however many messages it gets (job_run claims it). Returns how many were sent."""
    waited = timezone.now() - timedelta(seconds=settings.AUDIT_EXPORT_REDISPATCH_SECONDS)
    sent = 0
    for job in AuditExportJob.objects.filter(
        Q(status=AuditExportJob.Status.QUEUED, created_at__lte=waited) | _stale_running()
    ).order_by("created_at"):
        if not _enqueue(job, queue):
            break  # still down: the next run tries again
        sent += 1
    return sent


def _stale_running() -> Q:
    """A job still running AUDIT_EXPORT_STALE_MINUTES after it started: its worker died
    (killed, out of memory, host lost). An export of a million entries takes seconds, so
    the default half hour is far past any live run."""
    stale = timezone.now() - timedelta(minutes=settings.AUDIT_EXPORT_STALE_MINUTES)
    return Q(status=AuditExportJob.Status.RUNNING, started_at__lt=stale)


KEY_PURPOSE = "audit-export"
_VERSION = re.compile(r"/v([0-9]{1,9})$")


def _key(job: AuditExportJob, version: int | None = None) -> tuple[int, bytes]:
    """The job's own key: derived from the platform key (the current version, or `version`),
    salted with the job's id."""
    return platform_key.derive(KEY_PURPOSE, salt=job.pk.bytes, version=version)


def _key_version(job: AuditExportJob) -> int | None:
    """The platform key version the stored file was sealed under; None for a file stored
    before the platform key (sealed under SECRET_KEY, which nothing reads any more)."""
    found = _VERSION.search(job.storage_key)
    return int(found.group(1)) if found else None


def _context(job: AuditExportJob) -> bytes:
    return str(job.pk).encode()


def _bounds(job: AuditExportJob) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(job.since, time.min, tzinfo=zone),
        datetime.combine(job.until + timedelta(days=1), time.min, tzinfo=zone),
    )


def _count_entries(firms: list[Firm], since: datetime, until: datetime) -> int:
    """The entries the export will hold (those written meanwhile aside): its progress total."""
    total = 0
    for firm in firms:
        with tenant_context(firm):
            total += AccessLogEntry.objects.filter(at__gte=since, at__lt=until).count()
    return total


def job_run(job_id: str) -> AuditExportJob:
    """Make the file: count the entries, export them with progress (entries done of that
    count, written every block of entries through config.progress.ProgressWriter: the export
    reads each firm in a read-only snapshot), then seal, store and (if set) push it."""
    # Claimed, so a second message for the job (a redelivery, or the dispatcher's resend of
    # a job whose first message was only slow) does nothing while it runs or once it is done.
    # A job whose worker died mid-run is claimed again once stale (dispatch resends it).
    claimed = (
        AuditExportJob.objects.filter(pk=job_id)
        .filter(
            Q(status__in=(AuditExportJob.Status.QUEUED, AuditExportJob.Status.FAILED))
            | _stale_running()
        )
        .update(status=AuditExportJob.Status.RUNNING, started_at=timezone.now())
    )
    job = AuditExportJob.objects.get(pk=job_id)
    if not claimed:
        return job
    since, until = _bounds(job)
    firms = list(job.firms.all())
    job.status, job.started_at = AuditExportJob.Status.RUNNING, timezone.now()
    job.firms_done = job.entries = 0
    job.entries_total = _count_entries(firms, since, until)
    job.save(update_fields=["status", "started_at", "firms_done", "entries", "entries_total"])

    writer = ProgressWriter(
        AuditExportJob, job.pk, done_field="entries", total_field="entries_total", schema="public"
    )

    def progress(done: int, entries: int) -> None:
        writer.update(entries, firms_done=done)

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"audit-export.{job.file_format}"
        sealed = Path(folder) / "audit-export.sealed"
        try:
            with writer:
                result = export_audit(firms=firms, since=since, until=until, out=out,
                                      file_format=job.file_format, progress=progress)  # fmt: skip
            version, file_key = _key(job)
            seal_file(out, sealed, key=file_key, context=_context(job))
            key = f"platform/audit-exports/{job.pk}/v{version}"
            object_store().put_file(key, sealed)
            pushed = _push(job, out)
        except Exception as error:
            job.status, job.finished_at = AuditExportJob.Status.FAILED, timezone.now()
            job.error = type(error).__name__
            job.save(update_fields=["status", "finished_at", "error"])
            raise
    job.refresh_from_db()
    job.status, job.finished_at = AuditExportJob.Status.DONE, timezone.now()
    job.entries, job.sha256, job.storage_key = result.entries, result.sha256, key
    job.firms_done = len(firms)
    job.entries_total = max(job.entries_total, result.entries)
    job.pushed_to = pushed
    job.expires_at = job.finished_at + timedelta(hours=settings.AUDIT_EXPORT_DOWNLOAD_HOURS)
    job.save()
    return job


def _push(job: AuditExportJob, path: Path) -> str:
    """Copy the signed file to AUDIT_EXPORT_S3_BUCKET (an Object Lock bucket in production:
    infra/), when set. Returns where it went."""
    bucket = settings.AUDIT_EXPORT_S3_BUCKET
    if not bucket:
        return ""
    from objectstore.s3 import s3_client, upload_file

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
    # From the file, in parts: the signed file is never held in memory.
    upload_file(client, path, bucket=bucket, key=key, extra={"ContentType": _content_type(job)})
    return f"s3://{bucket}/{key}"


def _content_type(job: AuditExportJob) -> str:
    kind = "text/csv" if job.file_format == "csv" else "application/x-ndjson"
    return f"{kind}; charset=utf-8"


def export_stream(*, user: User, job: AuditExportJob) -> Iterator[bytes]:
    """The decrypted file, chunk by chunk, for the user who asked, within the window.

    Every chunk is authenticated once before this returns, so a damaged, cut or altered file
    is refused with a clear message (ValidationError) before a download starts; the chunks
    are authenticated again as they stream (a file changed in between stops the download)."""
    if job.requested_by_id != user.pk:
        raise ValidationError(_("この出力はあなたが依頼したものではありません。"))
    # Still allowed to audit every firm in it: someone removed from a firm (or made a
    # handler) since the export was made can no longer take its log away.
    allowed = {firm.pk for firm in auditable_firms(user)}
    if not set(job.firms.values_list("pk", flat=True)) <= allowed:
        raise ValidationError(
            _(
                "この出力に含まれる事業者のアクセス記録を見る権限がなくなったため、"
                "ダウンロードできません。"
            )
        )
    if job.status != AuditExportJob.Status.DONE or not job.storage_key:
        raise ValidationError(_("まだ出力が完了していません。"))
    if job.expires_at is None or job.expires_at <= timezone.now():
        raise ValidationError(_("ダウンロードの期限が過ぎました。もう一度出力してください。"))
    version = _key_version(job)
    if version is None:
        # Sealed under SECRET_KEY before the platform key: not opened any more (its window
        # was hours); the user exports again.
        raise ValidationError(_("ダウンロードの期限が過ぎました。もう一度出力してください。"))
    try:
        _version, file_key = _key(job, version)
        with object_store().open(job.storage_key) as stream:
            check_stream(stream, key=file_key, context=_context(job))
    except ObjectMissing as error:
        raise ValidationError(
            _("ダウンロードの期限が過ぎました。もう一度出力してください。")
        ) from error
    except (SealBroken, InvalidTag, CiphertextInvalid) as error:
        logger.error("audit export %s cannot be opened: %s", job.pk, error)
        raise ValidationError(
            _(
                "保存された出力ファイルが壊れているか、改ざんされています。もう一度出力してください。"
            )
        ) from error
    return _plaintext(job, file_key)


def _plaintext(job: AuditExportJob, file_key: bytes) -> Iterator[bytes]:
    with object_store().open(job.storage_key) as stream:
        yield from unseal_stream(stream, key=file_key, context=_context(job))


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
