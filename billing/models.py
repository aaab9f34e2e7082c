"""Billing state (public schema): one row per firm, and every verified Stripe event."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .plans import FREE, PLANS


class Status(models.TextChoices):
    NONE = "none", _("未契約")
    TRIALING = "trialing", _("無料トライアル中")
    ACTIVE = "active", _("契約中")
    PAST_DUE = "past_due", _("お支払い未確認")
    CANCELED = "canceled", _("解約済み")


LIVE_STATUSES = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)


class FirmBilling(models.Model):
    """A firm's plan and its Stripe subscription as last reconciled. Created on first use
    (billing.services.billing_for), so provisioning does not depend on billing."""

    firm = models.OneToOneField("firms.Firm", on_delete=models.PROTECT, related_name="billing")
    plan = models.CharField(
        max_length=20, choices=[(code, plan.name) for code, plan in PLANS.items()], default=FREE
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NONE)
    stripe_customer_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, default="")
    stripe_item_id = models.CharField(max_length=255, blank=True, default="")
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    # Set when the subscription first goes past due; after it the firm is read-only.
    grace_until = models.DateTimeField(null=True, blank=True)
    # The quantity Stripe bills now, as we last set or read it.
    quantity_synced = models.PositiveIntegerField(default=0)
    quantity_synced_at = models.DateTimeField(null=True, blank=True)
    # `created` of the newest Stripe object state applied; older states are not applied
    # (events arrive out of order).
    state_as_of = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"billing of firm {self.firm_id}: {self.plan} ({self.status})"

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES


class WebhookEvent(models.Model):
    """A Stripe event whose signature was verified. The id is unique, so a replay or a
    duplicate delivery finds the row and changes nothing."""

    class State(models.TextChoices):
        RECEIVED = "received", _("受信")
        PROCESSED = "processed", _("処理済み")
        IGNORED = "ignored", _("対象外")
        FAILED = "failed", _("失敗")

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField()
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED)
    # Why an event was ignored or failed (no personal data: codes and ids).
    note = models.CharField(max_length=255, blank=True, default="")
    firm = models.ForeignKey(
        "firms.Firm", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} ({self.state})"
