"""Carry a signed-in session from the bare domain to a firm host.

Session cookies are host-only (browsers do not share a `Domain=localhost` cookie with
`demo.localhost`, and host-only cookies keep one firm's host from ever seeing another's
session). So the bare domain issues a one-time ticket, the firm host redeems it and opens its
own session, bound to the parent: when the parent session ends, so does the firm session.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from firms.models import Firm, firm_url

from .models import HostHandoff, User
from .tokens import new_token, token_hash

PARENT_SESSION_KEY = "parent_session_key"
# allauth records how the user authenticated (password, mfa); reauthentication reads it.
CARRIED_SESSION_KEYS = ("account_authentication_methods",)
BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


def safe_next_path(candidate: str | None) -> str:
    if candidate and candidate.startswith("/") and not candidate.startswith("//"):
        return candidate
    return "/"


def handoff_start(
    request: HttpRequest, user: User, firm: Firm, next_path: str | None = None
) -> str:
    """Issue a ticket for `firm` and return the firm-host URL that redeems it."""
    if not request.session.session_key:
        request.session.save()
    raw, hashed = new_token()
    HostHandoff.objects.create(
        token_hash=hashed,
        user=user,
        firm=firm,
        parent_session_key=str(request.session.session_key),
        next_path=safe_next_path(next_path),
    )
    return firm_url(firm.slug, f"/auth/handoff/?t={raw}")


@transaction.atomic
def handoff_redeem(request: HttpRequest, raw: str) -> str | None:
    """Sign the user in on this firm host. Returns where to go next, or None if refused."""
    ticket = (
        HostHandoff.objects.select_for_update()
        .select_related("user")
        .filter(token_hash=token_hash(raw or ""))
        .first()
    )
    now = timezone.now()
    if (
        ticket is None
        or ticket.used_at is not None
        or ticket.created_at < now - settings.HANDOFF_TTL
        or ticket.firm_id != request.tenant.pk  # type: ignore[attr-defined]
        or not parent_session_alive(ticket.parent_session_key)
    ):
        return None
    ticket.used_at = now
    ticket.save(update_fields=["used_at"])
    parent = SessionStore(session_key=ticket.parent_session_key)
    user: User = ticket.user
    login(request, user, backend=BACKEND)
    request.session[PARENT_SESSION_KEY] = ticket.parent_session_key
    for key in CARRIED_SESSION_KEYS:
        if key in parent:
            request.session[key] = parent[key]
    return ticket.next_path


def parent_session_alive(session_key: str | None) -> bool:
    if not session_key:
        return False
    return Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now()).exists()


def end_parent_session(request: HttpRequest) -> None:
    """Logging out of a firm host logs out of the bare domain (and so every firm host)."""
    key = request.session.get(PARENT_SESSION_KEY)
    if key:
        SessionStore(session_key=key).delete()
