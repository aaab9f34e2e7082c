"""Messages to the person asked for a number, in the person's language (`language_for`): the
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


def language_for(request: CollectionRequest) -> str:
    """The language of the request's emails, one of settings.PERSON_LANGUAGES: the request's
    (the handler's pick, or the person's when it was made), else the person's as it is now
    (picked since), else Japanese (accounts.mail.person_language_of)."""
    return mail.person_language_of(request.language or request.person.language)


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
    mail.send_templated(
        "collection/link", context, [request.email], language_for(request), for_person=True
    )


def send_verified(firm: Firm, request: CollectionRequest) -> None:
    """The submission was checked and accepted: nothing more is needed from the person."""
    context = {
        "firm": firm,
        "person": request.person,
        "decided_at": request.decided_at,
        "purposes": list(request.purposes.all()),
    }
    mail.send_templated(
        "collection/verified", context, [request.email], language_for(request), for_person=True
    )
