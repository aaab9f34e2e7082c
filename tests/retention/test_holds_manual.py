"""A legal hold stops a deletion by hand too, in the UI and the API, and the refusal is logged."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.custody import services as custody
from tenants.custody.errors import UnderLegalHold
from tenants.custody.models import Person
from tenants.retention import services as retention

pytestmark = pytest.mark.django_db


def test_a_held_person_cannot_be_deleted_by_hand(acme, alice, harry):
    owner = Actor(user_id=alice.pk, email=alice.email, role="owner", request_id="t")
    handler = Actor(user_id=harry.pk, email=harry.email, role="handler", request_id="t")
    with tenant_context(acme):
        person = custody.person_create(actor=owner, data={
            "kind": "employee", "family_name": "保全", "given_name": "対象",
            "family_name_kana": "ホゼン", "given_name_kana": "タイショウ",
        })  # fmt: skip
        hold = retention.hold_place(actor=owner, person=person, reason="訴訟対応")
        with pytest.raises(UnderLegalHold):
            custody.person_delete(actor=handler, person=person)
        assert Person.objects.filter(pk=person.pk).exists()
        assert AccessLogEntry.objects.filter(action="delete", result="denied").exists()
        retention.hold_lift(actor=owner, hold=hold)
        custody.person_delete(actor=handler, person=person)
        assert not Person.objects.filter(pk=person.pk).exists()
