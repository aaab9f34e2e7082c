"""Messages to the person asked for a number, in the language chosen on the request: the
first request, reminders, a new link after a rejection (what was wrong and what to do
next), and the confirmation once a handler verified the submission. The link is the only
secret in them; no message ever contains a number (accounts.mail refuses one)."""

from __future__ import annotations

from accounts import mail
from firms.models import Firm

from .models import CollectionRequest

REQUEST = "request"
REMINDER = "reminder"
RESUBMIT = "resubmit"


def send_link(firm: Firm, request: CollectionRequest, url: str, kind: str) -> None:
    context = {
        "firm": firm,
        "person": request.person,
        "url": url,
        "kind": kind,
        "expires_at": request.expires_at,
        "purposes": list(request.purposes.all()),
        "reason": request.previous.rejection_reason if kind == RESUBMIT else "",
    }
    mail.send_templated("collection/link", context, [request.email], request.language)


def send_verified(firm: Firm, request: CollectionRequest) -> None:
    """The submission was checked and accepted: nothing more is needed from the person."""
    context = {
        "firm": firm,
        "person": request.person,
        "decided_at": request.decided_at,
        "purposes": list(request.purposes.all()),
    }
    mail.send_templated("collection/verified", context, [request.email], request.language)
