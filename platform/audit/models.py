"""Checkpoints of every firm's access-log chain, kept in the public schema.

A firm schema alone cannot prove its log was not cut short: someone able to delete its last
entries could also roll its chain head back. A checkpoint is the (seq, hash) the head had
when the hourly beat task looked, stored outside the firm's schema, so verification notices a
tail that went missing (tenants.auditlog.verification).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from firms.models import Firm


class AuditCheckpoint(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="audit_checkpoints")
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index("firm", models.F("seq").desc(), name="audit_ckpt_firm_seq")]
        constraints = [
            models.UniqueConstraint(fields=["firm", "seq"], name="audit_ckpt_firm_seq_unique")
        ]

    def __str__(self) -> str:
        return f"checkpoint of firm {self.firm_id} at #{self.seq}"


class AuditExportJob(models.Model):
    """A consolidated export asked for in the UI, made by a background task. The file is kept
    encrypted in object storage and can be downloaded until `expires_at`."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="audit_exports"
    )
    firms = models.ManyToManyField(Firm, related_name="+")
    since = models.DateField()
    until = models.DateField()
    file_format = models.CharField(max_length=10, default="jsonl")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    firms_done = models.PositiveIntegerField(default=0)
    firms_total = models.PositiveIntegerField(default=0)
    entries = models.PositiveBigIntegerField(default=0)
    # The entries in the period when the job started (counted first): progress is
    # `entries` of `entries_total` (config.progress), written as the export goes.
    entries_total = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    storage_key = models.CharField(max_length=200, blank=True)
    pushed_to = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"audit export {self.pk} ({self.status})"

    def progress_figures(self) -> dict:
        """The job's status for its endpoint and page (config.progress.job_status): entries
        done of those counted at the start (firms, for a job from before that count)."""
        from django.utils.translation import gettext

        from config.progress import job_status

        done, total = (
            (self.entries, self.entries_total)
            if self.entries_total
            else (self.firms_done, self.firms_total)
        )
        return job_status(
            status=self.status, done=done, total=total, started_at=self.started_at,
            # The stored error is a class name, for operators; people get the advice.
            error=gettext("失敗しました。もう一度出力してください。")
            if self.status == self.Status.FAILED
            else "",
        )  # fmt: skip

    @property
    def percent(self) -> int:
        return int(self.progress_figures()["percent"])


class AnchoredRoot(models.Model):
    """A daily anchored root (audit.anchoring), listed on the public anchors page.

    Only a listing: the anchor itself is the signed document in write-once storage
    (`location`), and verification reads it from there, never from this row, which anyone
    able to rewrite the database could rewrite too."""

    date = models.DateField()
    anchored_at = models.DateTimeField(unique=True)
    root = models.CharField(max_length=64)
    signature = models.CharField(max_length=100)
    key_id = models.CharField(max_length=32)
    tree_size = models.PositiveIntegerField()
    name = models.CharField(max_length=100, unique=True)
    location = models.CharField(max_length=300)

    class Meta:
        ordering = ["-anchored_at"]

    def __str__(self) -> str:
        return f"anchored root {self.root[:16]} of {self.date}"


class ChainVerification(models.Model):
    """Where the nightly verification of a firm's chain stands (audit.chain_verification).

    `seq`/`hash` is the verified point the next incremental run starts from: an entry whose
    hash a verification confirmed and that is a firm's head in an anchored root
    (`anchor_name`, in write-once storage), so the run reads only the entries after it and
    checks the anchor again before trusting it. It never moves past a break: a failed run
    records `status` broken with the first bad entry and leaves the point where it was.
    `head_seq` is how far the last good run read; `entries_read` what the last run read."""

    class Status(models.TextChoices):
        OK = "ok", "ok"
        BROKEN = "broken", "broken"

    firm = models.OneToOneField(Firm, on_delete=models.PROTECT, related_name="chain_verification")
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    anchor_name = models.CharField(max_length=100, blank=True)
    head_seq = models.BigIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField()
    entries_read = models.BigIntegerField(default=0)
    full = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"chain verification of firm {self.firm_id}: #{self.seq} ({self.status})"
