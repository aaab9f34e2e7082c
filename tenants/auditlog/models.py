"""The firm's access log (in the firm's own schema).

Rows are written only by `tenants.auditlog.services.log_access`, which computes the hash chain
(tenants.auditlog.chain). The database refuses UPDATE, DELETE and TRUNCATE of log rows
(migration 0003), and the chain head may only move forward to an entry that exists.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from .chain import GENESIS_HASH


class Action(models.TextChoices):
    CREATE = "create", _("登録")
    LIST = "list", _("一覧表示")
    VIEW = "view", _("表示（マスク）")
    REVEAL = "reveal", _("番号表示")
    EXPORT = "export", _("出力")
    UPDATE = "update", _("更新")
    DELETE = "delete", _("削除")
    VERIFY = "verify", _("本人確認")
    PERMISSION = "permission", _("権限変更")
    KEY = "key", _("鍵操作")
    LOGIN = "login", _("ログイン")
    DOWNLOAD_LOG = "download_log", _("ログ出力")


class ActorRole(models.TextChoices):
    OWNER = "owner", _("オーナー")
    HANDLER = "handler", _("事務取扱担当者")
    VIEWER = "viewer", _("閲覧者")
    ACCOUNTANT = "accountant", _("税理士・社労士")
    OPERATOR = "operator", _("運用者")
    SYSTEM = "system", _("システム")
    API = "api", _("API")
    # The person the number belongs to, answering a collection request through its link.
    SUBJECT = "subject", _("本人")
    # A platform operator inside a firm under an owner-approved, time-limited support grant.
    SUPPORT = "support", _("サポート（運用者）")


class Result(models.TextChoices):
    ALLOWED = "allowed", _("許可")
    DENIED = "denied", _("拒否")


class AccessLogEntry(models.Model):
    # Gapless per firm: 1, 2, 3... A gap is itself evidence of tampering.
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(_("日時"))
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    actor_role = models.CharField(max_length=20, choices=ActorRole.choices, blank=True)
    api_token_id = models.BigIntegerField(null=True, blank=True)
    # No foreign key: deleting a person must never touch (or be blocked by) the log.
    person_id = models.BigIntegerField(null=True, blank=True)
    # Choices are not a database constraint, so new actions need no migration of old rows.
    action = models.CharField(max_length=32, choices=Action.choices)
    purpose = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.ALLOWED)
    request_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        # No default ordering: it would leak into DISTINCT and GROUP BY queries of the viewer.
        indexes = [
            models.Index(fields=["person_id", "at"], name="auditlog_person_at"),
            models.Index(fields=["actor_user_id", "at"], name="auditlog_actor_at"),
            models.Index(fields=["action", "at"], name="auditlog_action_at"),
            models.Index(fields=["purpose", "at"], name="auditlog_purpose_at"),
            models.Index(fields=["at"], name="auditlog_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="auditlog_seq_positive"),
            models.CheckConstraint(
                condition=models.Q(result__in=[Result.ALLOWED, Result.DENIED]),
                name="auditlog_result_valid",
            ),
            # 64 lowercase hex digits each. Written as a length and the absence of any other
            # character rather than an anchored regex: the same values, half the database's
            # time per entry on a filing's 30,000 export entries (docs/benchmarks.md).
            models.CheckConstraint(
                condition=models.Q(Exact(Length("hash"), 64))
                & ~models.Q(hash__regex=r"[^0-9a-f]")
                & models.Q(Exact(Length("prev_hash"), 64))
                & ~models.Q(prev_hash__regex=r"[^0-9a-f]"),
                name="auditlog_hashes_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.result}"


class ChainHead(models.Model):
    """The chain's tail, one row per firm schema. Appends lock it (SELECT ... FOR UPDATE), so
    concurrent appends in one firm queue up instead of forking the chain."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=True), name="auditlog_head_single"),
            models.CheckConstraint(
                condition=models.Q(seq__gte=0), name="auditlog_head_seq_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"chain head #{self.seq}"
