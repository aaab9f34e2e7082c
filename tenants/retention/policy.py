"""Who may do what with retention: the authorization layer's answers (authz.actions).

Deletion records and the dashboard are readable by every member (names and dates, never a
number). Decisions with legal weight (approving deletions, legal holds, the firm's periods,
the certificate it keeps as proof) are the owner's.
"""

from __future__ import annotations

from authz.actions import Action
from authz.decide import permits


def can_read(role: str) -> bool:
    return permits(role, Action.RETENTION_VIEW)


def can_approve(role: str) -> bool:
    return permits(role, Action.RETENTION_MANAGE)


def can_hold(role: str) -> bool:
    return permits(role, Action.RETENTION_MANAGE)


def can_manage_rules(role: str) -> bool:
    return permits(role, Action.RETENTION_MANAGE)


def can_download_certificate(role: str) -> bool:
    return permits(role, Action.RETENTION_MANAGE)
