"""Who may do what with people and numbers: the authorization layer's answers (authz.actions
holds the one table), under the names the custody services and pages have always asked."""

from __future__ import annotations

from authz.actions import SUPPORT, SYSTEM, Action
from authz.decide import permits

__all__ = ["SUPPORT", "SYSTEM", "can_manage_purposes", "can_read", "can_reveal", "can_write"]


def can_read(role: str) -> bool:
    """People masked, and the log: every member, and an operator under a support grant."""
    return permits(role, Action.PEOPLE_VIEW)


def can_write(role: str) -> bool:
    """Owners, handlers, accountants, and scheduled jobs ("system")."""
    return permits(role, Action.PEOPLE_WRITE)


def can_reveal(role: str) -> bool:
    """Plaintext: owners and handlers; accountants only if the firm allows it; never viewers,
    never support, never the system."""
    return permits(role, Action.NUMBER_REVEAL)


def can_manage_purposes(role: str) -> bool:
    return permits(role, Action.PURPOSES_MANAGE)
