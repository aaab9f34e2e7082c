"""Messages to the person asked for a number: the first request, reminders, and a new link
after a rejection. Plain text and HTML parts; the link is the only secret in them, and no
message ever contains a number."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

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
    subject = render_to_string("collection/email/subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("collection/email/body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[request.email],
    )
    message.attach_alternative(render_to_string("collection/email/body.html", context), "text/html")
    message.send()
