"""Accountant practices (税理士・社労士事務所) and the client firms they serve (public schema).

A practice's members reach a client firm through ordinary memberships with the accountant
role, created when the link becomes active and removed when it ends, so the firm's access
policy, MFA rule and access log treat them like anyone else and the owner sees them among
the members. Which members reach which client (担当) is decided by the practice's admins:
admins reach every client, staff only those assigned to them unless `all_clients` is set."""

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
    # Staff reach every client only with this set; otherwise only the clients assigned to
    # them (ClientAssignment). New staff start without it (least privilege); admins reach
    # every client whatever it says, since they are the ones who assign.
    all_clients = models.BooleanField(_("全顧問先を担当"), default=False)
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


class ClientAssignment(models.Model):
    """A staff member assigned to one client of their practice (担当): while the link is
    active they hold an accountant membership in that firm."""

    member = models.ForeignKey(PracticeMember, on_delete=models.CASCADE, related_name="assignments")
    link = models.ForeignKey(PracticeClient, on_delete=models.CASCADE, related_name="assignments")
    assigned_by_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "link"], name="one_assignment_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.member} assigned to {self.link_id}"


class ClientImport(models.Model):
    """A CSV of client firms a practice's admin imported (practices.client_import): who,
    when, which file, its rows as checked, and what became of each row. The rows hold no
    custody data (firm names, subdomains, owners' emails, plans), so the Celery task is
    given this row's id and reads them here."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("開始待ち")
        RUNNING = "running", _("作成中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept when the account goes: who imported stays on record.
    created_by_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255, blank=True)
    row_count = models.PositiveIntegerField()
    # [{"line", "name", "slug", "owner_email", "plan", "outcome", "reason"}], in file order.
    # outcome: "" (not reached yet), "created", "already" (a client of this practice
    # already) or "failed" (with the reason; nothing of that firm was kept).
    rows = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Why the import as a whole stopped (practices.client_import.FAILURES), a code.
    error = models.CharField(max_length=20, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"client import {self.pk} of {self.practice_id} ({self.status})"

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.get("outcome") == outcome)
