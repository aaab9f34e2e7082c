"""Checkpoints of every firm's access-log chain, kept in the public schema.

A firm schema alone cannot prove its log was not cut short: someone able to delete its last
entries could also roll its chain head back. A checkpoint is the (seq, hash) the head had
when the hourly beat task looked, stored outside the firm's schema, so verification notices a
tail that went missing (tenants.auditlog.verification).
"""

from __future__ import annotations

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
