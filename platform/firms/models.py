"""Client firms. Each firm is a tenant with its own PostgreSQL schema (public schema models)."""

from __future__ import annotations

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
