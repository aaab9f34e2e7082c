"""Purging what has expired in the public schema: used or stale hand-off tickets, closed
invitations and sign-up reservations nobody verified. Run hourly by beat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from firms.models import SlugReservation

from .models import HostHandoff, Invitation

# Closed invitations stay visible to owners for a while before they go.
INVITATION_KEEP = timedelta(days=30)


@dataclass(frozen=True)
class Purged:
    handoffs: int
    invitations: int
    reservations: int


def purge_expired() -> Purged:
    now = timezone.now()
    handoffs, _ = HostHandoff.objects.filter(
        Q(used_at__isnull=False) | Q(created_at__lt=now - settings.HANDOFF_TTL)
    ).delete()
    invitations, _ = Invitation.objects.filter(
        Q(expires_at__lt=now - INVITATION_KEEP)
        | Q(accepted_at__lt=now - INVITATION_KEEP)
        | Q(revoked_at__lt=now - INVITATION_KEEP)
    ).delete()
    reservations, _ = SlugReservation.objects.filter(
        created_at__lt=now - timedelta(days=settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS)
    ).delete()
    return Purged(handoffs=handoffs, invitations=invitations, reservations=reservations)
