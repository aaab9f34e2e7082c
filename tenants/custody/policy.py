"""Who may do what with people and numbers, by role in the firm. One place, so the web views,
the API and the exports cannot disagree."""

from __future__ import annotations

from accounts.models import Role
from tenants.workspace.models import FirmSettings

# Scheduled jobs (the retention sweep, the demo seed) act as "system": they may write and
# delete, never reveal.
SYSTEM = "system"
# Owners and designated handlers run the number work; accountants do the filings for the
# firm, so they may record people and numbers too.
WRITE_ROLES = frozenset({Role.OWNER, Role.HANDLER, Role.ACCOUNTANT, SYSTEM})
# Everyone in the firm may see people masked, and the log; so may an operator under an
# owner-approved support grant ("support"), who can never write or reveal.
SUPPORT = "support"
READ_ROLES = frozenset({Role.OWNER, Role.HANDLER, Role.ACCOUNTANT, Role.VIEWER, SUPPORT})


def can_read(role: str) -> bool:
    return role in READ_ROLES


def can_write(role: str) -> bool:
    return role in WRITE_ROLES


def can_reveal(role: str) -> bool:
    """Plaintext: owners and handlers; accountants only if the firm allows it; never viewers,
    never operators (who have no role in a firm at all)."""
    if role in (Role.OWNER, Role.HANDLER):
        return True
    if role == Role.ACCOUNTANT:
        return FirmSettings.current().accountants_may_reveal
    return False


def can_manage_purposes(role: str) -> bool:
    return role == Role.OWNER
