"""Client firms. Each firm is a tenant with its own PostgreSQL schema (public schema models)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class Firm(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", _("稼働中")
        SUSPENDED = "suspended", _("停止中")
        OFFBOARDING = "offboarding", _("解約手続中")

    name = models.CharField(_("事業者名"), max_length=200)
    slug = models.SlugField(_("サブドメイン"), max_length=40, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    # Provisioning clones the template schema itself, inside its own transaction
    # (firms.provisioning); saving a Firm never creates or drops a schema by surprise.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def url(self) -> str:
        return firm_url(self.slug)


class Domain(DomainMixin):
    pass


class FirmKey(models.Model):
    """Key metadata for a firm's key-encryption key. The custody issue fills in the provider
    side; the record exists from provisioning so every firm has exactly one."""

    class State(models.TextChoices):
        PENDING = "pending", _("未作成")
        ACTIVE = "active", _("有効")
        DESTROYED = "destroyed", _("破棄済み")

    firm = models.OneToOneField(Firm, on_delete=models.PROTECT, related_name="key")
    provider = models.CharField(max_length=20, default="")
    key_id = models.CharField(max_length=255, blank=True, default="")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # Bring your own key: key_id is a key in the firm's own AWS account (keys.byok); the
    # platform never creates, rotates the material of, or deletes it.
    byok = models.BooleanField(default=False)
    # The last KMS health check (keys.health): a round trip under the firm's KEK.
    last_health_check_at = models.DateTimeField(null=True, blank=True)
    last_health_ok = models.BooleanField(null=True, blank=True)
    last_health_error = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"key of firm {self.firm_id} ({self.provider or 'unset'}, {self.state})"


class SlugReservation(models.Model):
    """A firm asked for at sign-up, waiting for the owner's email verification.

    Holding the slug here keeps two sign-ups from racing for it; a reservation older than the
    verification link's lifetime no longer holds it.
    """

    slug = models.SlugField(max_length=40, unique=True)
    firm_name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slug_reservations"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"reservation of {self.slug}"


class TemplateDump(models.Model):
    """The migrated firm template as a replayable script (firms.template_schema)."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    migrations_digest = models.CharField(max_length=64)
    script = models.TextField()
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"firm template dump {self.migrations_digest[:12]}"


def firm_host(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def _port_suffix() -> str:
    return f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""


def firm_url(slug: str, path: str = "/") -> str:
    return f"{settings.SITE_SCHEME}://{firm_host(slug)}{_port_suffix()}{path}"


def public_url(path: str = "/") -> str:
    return f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{_port_suffix()}{path}"


class OffboardingRecord(models.Model):
    """A firm's offboarding, from the owner's request to the schema drop (firms.offboarding).

    Public schema, and no foreign key that could keep or take it with the firm: `firm` is set
    null when the firm's rows go, and the fields below copy everything the offboarding
    certificate needs, so the certificate survives the drop of the firm's schema."""

    class Stage(models.TextChoices):
        REQUESTED = "requested", _("最終エクスポートの作成中")
        EXPORTED = "exported", _("最終エクスポートのダウンロード待ち")
        SHREDDED = "shredded", _("暗号鍵を破棄済み（スキーマ削除待ち）")
        DROPPED = "dropped", _("完了（データベースから削除済み）")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    firm = models.OneToOneField(
        Firm, null=True, blank=True, on_delete=models.SET_NULL, related_name="offboarding"
    )
    firm_pk = models.BigIntegerField()
    firm_name = models.CharField(max_length=200)
    firm_slug = models.SlugField(max_length=40)
    schema_name = models.CharField(max_length=63)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    requested_by_email = models.CharField(max_length=254)
    # The firm's owners when it was requested: they may download the certificate later.
    owner_user_ids = models.JSONField(default=list)
    include_numbers = models.BooleanField(default=False)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.REQUESTED)
    requested_at = models.DateTimeField()
    # The final export (a zip sealed under a platform key, in object storage).
    export_started_at = models.DateTimeField(null=True, blank=True)
    export_ready_at = models.DateTimeField(null=True, blank=True)
    export_error = models.CharField(max_length=100, blank=True, default="")
    # The export's progress (config.progress): people written, then access-log entries,
    # of those counted when it started; firms.offboarding.export_progress reports it.
    export_done = models.PositiveBigIntegerField(default=0)
    export_total = models.PositiveBigIntegerField(default=0)
    archive_key = models.CharField(max_length=200, blank=True, default="")
    archive_sha256 = models.CharField(max_length=64, blank=True, default="")
    archive_size = models.PositiveBigIntegerField(default=0)
    archive_downloaded_at = models.DateTimeField(null=True, blank=True)
    download_confirmed_at = models.DateTimeField(null=True, blank=True)
    people_count = models.PositiveIntegerField(default=0)
    numbers_exported = models.PositiveIntegerField(default=0)
    deletion_records_count = models.PositiveIntegerField(default=0)
    log_entries = models.PositiveBigIntegerField(default=0)
    # Crypto-shredding.
    key_provider = models.CharField(max_length=20, blank=True, default="")
    key_id = models.CharField(max_length=255, blank=True, default="")
    key_byok = models.BooleanField(default=False)
    key_destroyed_at = models.DateTimeField(null=True, blank=True)
    # AWS: when KMS deletes the key for good (ScheduleKeyDeletion's window). Local: null
    # (erased at once). BYOK: null (the firm's own key; its wrapped data keys were erased).
    key_deletion_date = models.DateTimeField(null=True, blank=True)
    schema_dropped_at = models.DateTimeField(null=True, blank=True)
    billing_stopped_at = models.DateTimeField(null=True, blank=True)
    billing_result = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"offboarding of {self.firm_slug} ({self.stage})"
