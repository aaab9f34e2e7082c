"""Accountant practices (税理士・社労士事務所) and the client firms they serve (public schema).

A practice's members reach a client firm through ordinary memberships with the accountant
role, created when the link becomes active and removed when it ends, so the firm's access
policy, MFA rule and access log treat them like anyone else and the owner sees them among
the members."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def _new_code() -> str:
    # What an owner types to invite the practice: short, unambiguous, not secret.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class Practice(models.Model):
    name = models.CharField(_("事務所名"), max_length=200)
    code = models.CharField(_("事務所コード"), max_length=8, unique=True, default=_new_code)
    # The firm whose Accountant-plan subscription pays for every client of the practice
    # (usually the practice's own firm); billing.services counts the clients on it.
    billing_firm = models.ForeignKey(
        "firms.Firm",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="billed_practices",
        verbose_name=_("請求先の事業者"),
    )
    # Escalation (practices.escalation): after this many days unanswered, a client's request
    # for a number is told to the client's owners, once. 0 turns it off. Kept below the
    # link's life (COLLECTION_LINK_DAYS), so the owner hears while the link still works.
    owner_notice_after_days = models.PositiveSmallIntegerField(
        _("オーナーへの通知までの日数"), default=10
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PracticeMember(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("管理者")
        STAFF = "staff", _("職員")

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_memberships"
    )
    role = models.CharField(_("役割"), max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "user"], name="one_seat_per_practice")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.practice}"


class PracticeClient(models.Model):
    """A practice serving a firm. Pending until the other side accepts; ended by the firm's
    owner (or the practice) at any time."""

    class Status(models.TextChoices):
        AWAITING_PRACTICE = "awaiting_practice", _("事務所の承諾待ち")
        ACTIVE = "active", _("有効")
        ENDED = "ended", _("終了")

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="clients")
    firm = models.ForeignKey("firms.Firm", on_delete=models.CASCADE, related_name="practices")
    status = models.CharField(max_length=20, choices=Status.choices)
    # Set when the practice created the firm for its client: the owner it invited.
    created_for_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["firm__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "firm"],
                condition=~models.Q(status="ended"),
                name="one_open_link_per_practice_and_firm",
            )
        ]

    def __str__(self) -> str:
        return f"{self.practice} serves {self.firm_id} ({self.status})"
