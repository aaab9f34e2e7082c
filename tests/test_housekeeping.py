"""Expired tickets, closed invitations and unverified reservations are purged; live ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.housekeeping import purge_expired
from accounts.models import HostHandoff, Invitation, Role
from firms.models import SlugReservation
from tests.helpers import make_firm, make_user

pytestmark = pytest.mark.django_db


def test_purge_removes_only_what_has_expired():
    acme = make_firm("acme")
    alice = make_user("alice@acme.test", firm=acme)
    now = timezone.now()
    used = HostHandoff.objects.create(
        token_hash="u" * 64, user=alice, firm=acme, parent_session_key="s", used_at=now
    )
    live = HostHandoff.objects.create(
        token_hash="l" * 64, user=alice, firm=acme, parent_session_key="s"
    )
    invitation = dict(firm=acme, role=Role.HANDLER, invited_by=alice)
    long_expired = Invitation.objects.create(
        email="a@x.test", token_hash="1" * 64, expires_at=now - timedelta(days=31), **invitation
    )
    open_one = Invitation.objects.create(
        email="b@x.test", token_hash="2" * 64, expires_at=now + timedelta(days=1), **invitation
    )
    stale = SlugReservation.objects.create(slug="stale", firm_name="x", owner=alice)
    SlugReservation.objects.filter(pk=stale.pk).update(created_at=now - timedelta(days=4))
    waiting = SlugReservation.objects.create(slug="waiting", firm_name="y", owner=alice)

    purged = purge_expired()

    assert (purged.handoffs, purged.invitations, purged.reservations) == (1, 1, 1)
    assert not HostHandoff.objects.filter(pk=used.pk).exists()
    assert HostHandoff.objects.filter(pk=live.pk).exists()
    assert not Invitation.objects.filter(pk=long_expired.pk).exists()
    assert Invitation.objects.filter(pk=open_one.pk).exists()
    assert list(SlugReservation.objects.values_list("pk", flat=True)) == [waiting.pk]
