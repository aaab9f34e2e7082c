"""Provisioning a firm: its schema (cloned from the migrated template), domain, key record and
owner membership, all in one transaction so a failure leaves nothing half-made."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from accounts.models import Role, User

from .models import Domain, Firm, FirmKey, SlugReservation, firm_host
from .slugs import schema_name_for, validate_slug_available, validate_slug_format
from .template_schema import TemplateSchemaMissing, clone_template

logger = logging.getLogger(__name__)
__all__ = ["TemplateSchemaMissing", "provision_firm", "provision_reserved_firms", "reserve_slug"]


def ensure_public_tenant() -> Firm:
    """The bare domain is served by the public schema's own tenant row (django-tenants routes
    by Domain). Kept in step with BASE_DOMAIN on every migrate."""
    public = get_public_schema_name()
    firm, _created = Firm.objects.get_or_create(
        schema_name=public, defaults={"name": "Public site", "slug": public}
    )
    Domain.objects.filter(tenant=firm).exclude(domain=settings.BASE_DOMAIN).delete()
    Domain.objects.get_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": firm, "is_primary": True}
    )
    return firm


@transaction.atomic
def reserve_slug(*, owner: User, firm_name: str, slug: str) -> SlugReservation:
    validate_slug_format(slug)
    validate_slug_available(slug)
    stale_before = timezone.now() - timedelta(days=settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS)
    SlugReservation.objects.filter(slug=slug, created_at__lt=stale_before).delete()
    return SlugReservation.objects.create(owner=owner, firm_name=firm_name.strip(), slug=slug)


@transaction.atomic
def provision_firm(*, name: str, slug: str, owner: User | None) -> Firm:
    """Create the firm and everything it needs. Cost does not grow with the number of firms:
    the schema is replayed from the template's dump, migration records included, so no
    migration runs (firms.template_schema)."""
    from accounts.services import membership_create
    from keys.envelope import ensure_firm_key

    validate_slug_format(slug)
    if Firm.objects.filter(slug=slug).exists():
        validate_slug_available(slug)  # raises the user-facing message
    firm = Firm.objects.create(name=name.strip(), slug=slug, schema_name=schema_name_for(slug))
    Domain.objects.create(domain=firm_host(slug), tenant=firm, is_primary=True)
    FirmKey.objects.create(firm=firm, provider=settings.KEY_PROVIDER)
    clone_template(firm.schema_name)
    if owner is not None:
        membership_create(user=owner, firm=firm, role=Role.OWNER)
    # Last, so that a failure of anything above never leaves a KMS key behind; the KMS key
    # and the first data keys are made here and the key record becomes active.
    ensure_firm_key(firm)
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    logger.info("provisioned firm %s", slug)
    return firm


def provision_reserved_firms(user: User) -> list[Firm]:
    """Called when an owner verifies their email: turn their reservations into firms."""
    firms = []
    for reservation in SlugReservation.objects.filter(owner=user).order_by("created_at"):
        with transaction.atomic():
            firm = provision_firm(name=reservation.firm_name, slug=reservation.slug, owner=user)
            reservation.delete()
        firms.append(firm)
    return firms
