"""An uploaded filing file, in the firm's schema (docs/filings.md, "Custody").

The upload holds names, addresses and amounts, and may hold numbers already, so only its
envelope ciphertext is kept (keys.envelope.seal, record `filing:{id}`, field `upload`),
sealed as soon as it arrives: destroying the firm's key destroys it. The filled file is never
stored: it is made from the sealed upload each time it is downloaded, after that download's
log entries are committed. After `expires_at` (24 hours by default) the ciphertext is
emptied and the row stays as the deletion record: what it was, who uploaded it, when and why
its copy was deleted.

The review keeps row and field numbers, reasons and person ids, never a name or a number:
names are read again from the sealed upload when the review page shows them.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Filing(models.Model):
    class Status(models.TextChoices):
        REVIEW = "review", _("確認待ち")
        READY = "ready", _("ダウンロードできます")
        DELETED = "deleted", _("削除済み")

    class Deletion(models.TextChoices):
        EXPIRED = "expired", _("保管期限（24時間）の経過")
        BY_USER = "by_user", _("担当者による削除")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # accounts.User lives in the public schema: its id and address, as the access log keeps.
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    # What the file is (tenants.filings.layouts) and how it is written.
    layout_code = models.CharField(max_length=3)
    field_count = models.PositiveSmallIntegerField()
    edition = models.CharField(max_length=20)
    encoding = models.CharField(max_length=10)
    byte_count = models.PositiveIntegerField()
    row_count = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)  # sha256 of the upload, in every log entry
    ciphertext = models.BinaryField()
    # The plan, as of the last look: number columns that will be filled, for how many people,
    # what the handler must still answer, and the answers.
    fill_count = models.PositiveIntegerField(default=0)
    people_count = models.PositiveIntegerField(default=0)
    review = models.JSONField(default=list, blank=True)
    choices = models.JSONField(default=dict, blank=True)  # "row:field" → {person} | {reason}
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REVIEW)
    downloads = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=254, blank=True)
    deletion = models.CharField(max_length=10, choices=Deletion.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"filing {self.pk}"

    @property
    def pending_count(self) -> int:
        from .services import NEEDS_CHOICE

        return sum(1 for item in self.review if item["reason"] in NEEDS_CHOICE)
