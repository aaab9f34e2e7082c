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

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.firms_done / self.firms_total) if self.firms_total else 0
