"""The owners' emails about billing, each in the owner's language (docs/email.md): a payment
failed (invoice.payment_failed), and the subscription ended, which leaves the firm
read-only. Sent after the event's transaction commits; the event is applied once, so each
is sent once. Custody data is never touched, and the messages say so."""

from __future__ import annotations

from accounts import mail
from firms.models import Firm, firm_url

from .models import FirmBilling

BILLING_PATH = "/billing/"


def payment_failed(firm_id: int) -> None:
    firm = Firm.objects.get(pk=firm_id)
    record = FirmBilling.objects.filter(firm_id=firm_id).first()
    context = {
        "grace_until": record.grace_until if record else None,
        "link": firm_url(firm.slug, BILLING_PATH),
    }
    mail.send_to_owners("billing/payment_failed", firm, context)


def subscription_ended(firm_id: int) -> None:
    firm = Firm.objects.get(pk=firm_id)
    mail.send_to_owners(
        "billing/subscription_ended", firm, {"link": firm_url(firm.slug, BILLING_PATH)}
    )
