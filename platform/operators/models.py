"""The operator log (public schema): what platform operators and the platform's own jobs did
to firms and their keys, hash-chained like the firms' access logs (operators.log).

Rows are written only by `operators.log.log_operator_action`. The database refuses UPDATE and
DELETE of entries, and the chain head only moves forward to an entry that exists (migration
0002). docs/operators.md.
"""

from __future__ import annotations

import hashlib

from django.db import models

# The first entry's prev_hash. Not the firm logs' genesis: an operator-log entry can never be
# passed off as the start of a firm's chain, or the other way round.
OPERATOR_GENESIS_HASH = hashlib.sha256(b"mynumber-custody:operator-log:genesis").hexdigest()


class OperatorLogEntry(models.Model):
    # Gapless: 1, 2, 3... A gap is itself evidence of tampering.
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    # An operator's email, or `system:<reason>` for a scheduled job.
    actor_email = models.CharField(max_length=254)
    action = models.CharField(max_length=32)
    # No foreign key: offboarding a firm must never touch (or be blocked by) this log. The
    # slug is kept beside the id so an export reads without the firms table.
    firm_id = models.BigIntegerField(null=True, blank=True)
    firm_slug = models.CharField(max_length=40, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(fields=["firm_id", "at"], name="operators_log_firm_at"),
            models.Index(fields=["actor_email", "at"], name="operators_log_actor_at"),
            models.Index(fields=["at"], name="operators_log_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="operators_log_seq_pos"),
            models.CheckConstraint(
                condition=models.Q(hash__regex=r"^[0-9a-f]{64}$")
                & models.Q(prev_hash__regex=r"^[0-9a-f]{64}$"),
                name="operators_log_hashes_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"operator log #{self.seq} {self.action}"


class OperatorChainHead(models.Model):
    """The operator log's tail, one row. Appends lock it (SELECT ... FOR UPDATE), so concurrent
    appends queue up instead of forking the chain."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=OPERATOR_GENESIS_HASH)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(singleton=True), name="operators_head_single"
            ),
            models.CheckConstraint(
                condition=models.Q(seq__gte=0), name="operators_head_seq_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"operator log head #{self.seq}"
