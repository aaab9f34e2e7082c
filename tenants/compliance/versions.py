"""Reading the stored versions: the fingerprint of a set of facts, and a kind's latest."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .models import ComplianceDocument


def fingerprint(facts: dict[str, Any]) -> str:
    """SHA-256 of the facts in canonical JSON: equal facts, equal fingerprint."""
    canonical = json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def latest(kind: str) -> ComplianceDocument | None:
    return ComplianceDocument.objects.filter(kind=kind).order_by("-version").first()


def latest_adopted(kind: str) -> ComplianceDocument | None:
    return (
        ComplianceDocument.objects.filter(kind=kind, adopted_at__isnull=False)
        .order_by("-version")
        .first()
    )
