"""Checkpoints of firms' chain heads, stored in the public schema (see audit.models).

Run hourly by beat (audit.tasks). A checkpoint is only ever added when the chain advanced;
a head that went backwards, or changed at the same seq, is reported and not recorded, so a
truncation can never overwrite the evidence of what came before it.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django_tenants.utils import get_public_schema_name, tenant_context

from firms.models import Firm
from tenants.auditlog.models import ChainHead

from .models import AuditCheckpoint

logger = logging.getLogger(__name__)


def record_checkpoint(firm: Firm) -> AuditCheckpoint | None:
    """Store the firm's chain head if it advanced since the last checkpoint."""
    with tenant_context(firm):
        head = ChainHead.objects.filter(singleton=True).values_list("seq", "hash").first()
    if head is None:
        logger.error("firm %s has no access log chain head; run verify_audit_chain", firm.slug)
        return None
    seq, digest = head
    latest = AuditCheckpoint.objects.filter(firm=firm).order_by("-seq").first()
    if latest is not None and (seq < latest.seq or (seq == latest.seq and digest != latest.hash)):
        logger.error(
            "access log of firm %s: chain head #%d disagrees with checkpoint #%d; not recorded. "
            "Run verify_audit_chain --tenant %s",
            firm.slug,
            seq,
            latest.seq,
            firm.slug,
        )
        return None
    if seq == 0 or (latest is not None and seq == latest.seq):
        return None
    try:
        with transaction.atomic():
            return AuditCheckpoint.objects.create(firm=firm, seq=seq, hash=digest)
    except IntegrityError:  # a concurrent run recorded the same head
        return None


def firms_with_logs() -> list[Firm]:
    """Every firm schema holds a log, whatever the firm's status; only the public tenant
    (which serves the bare domain) does not."""
    return list(Firm.objects.exclude(schema_name=get_public_schema_name()).order_by("slug"))


def record_all_checkpoints() -> list[AuditCheckpoint]:
    """In-process, for the command line and tests; beat fans out one task per firm instead."""
    recorded = []
    for firm in firms_with_logs():
        checkpoint = record_checkpoint(firm)
        if checkpoint is not None:
            recorded.append(checkpoint)
    return recorded
