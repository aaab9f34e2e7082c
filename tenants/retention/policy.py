"""Who may do what with retention: one place, so pages and services agree.

Deletion records and the dashboard are readable by every member (names and dates, never a
number). Decisions with legal weight (approving deletions, legal holds, the firm's periods,
the certificate it keeps as proof) are the owner's.
"""

from __future__ import annotations

from accounts.models import Role
from tenants.custody.policy import READ_ROLES


def can_read(role: str) -> bool:
    return role in READ_ROLES


def can_approve(role: str) -> bool:
    return role == Role.OWNER


def can_hold(role: str) -> bool:
    return role == Role.OWNER


def can_manage_rules(role: str) -> bool:
    return role == Role.OWNER


def can_download_certificate(role: str) -> bool:
    return role == Role.OWNER
