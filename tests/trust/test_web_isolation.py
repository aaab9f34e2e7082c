"""The isolation matrix for web routes, generated from the firm host's URL conf (the API's is
tests/api/test_isolation.py), so a new route is covered without editing this file.

- A member of firm A on firm B's host gets 404 on every route, whatever the method.
- On A's own host, ids that exist only in firm B give 404 on every route that takes an id;
  B's objects are created so that their ids are higher than any of A's.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from accounts.api_tokens import api_token_create
from accounts.models import ApiToken, Invitation, Membership, Role
from accounts.services import invitation_issue
from tenants.collection.models import CollectionRequest, RequestStatus
from tenants.custody.models import Person, Purpose
from tenants.retention.models import LegalHold
from tests.collection.factories import issue, make_person
from tests.helpers import firm_host, signed_in_firm_client

pytestmark = [pytest.mark.django_db, pytest.mark.trust]
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
# Firm-host routes that do not depend on membership, each for its own reason:
OPEN_ON_ANY_FIRM_HOST = (
    "api/",  # token-authenticated: tests/api/test_isolation.py
    "s/",  # the person's collection page: the link's token is the credential (its own tests)
    "auth/handoff/",  # redeems a one-time ticket bound to one firm (tests/test_access.py)
    "logout/",  # ends the caller's own session
    "i18n/",  # the language switch
)


def routes() -> list[str]:
    def walk(patterns, prefix: str):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    return sorted(set(walk(get_resolver("config.urls_tenant").url_patterns, "")))


def concrete(route: str, ids: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        kind, name = match.group(1), match.group(2)
        prefix = route[: match.start()]
        for (want_prefix, want_name), found in ids.items():
            if name == want_name and prefix.startswith(want_prefix):
                return found
        return UNKNOWN_UUID if kind == "uuid" else "1000000"

    return "/" + re.sub(r"<(\w+):(\w+)>", value, route)


@pytest.fixture
def b_ids(acme, globex, alice, gina, django_capture_on_commit_callbacks) -> dict:
    """Objects of firm B (Globex) whose ids are higher than any of A's (Acme's)."""
    make_person(acme)
    a_token = api_token_create(firm=acme, user=alice, scopes=["read"], name="a")[0]
    with django_capture_on_commit_callbacks(execute=True):
        invitation_issue(firm=acme, email="x@acme.test", role=Role.VIEWER, invited_by=alice)
        invitation = invitation_issue(
            firm=globex, email="y@globex.test", role=Role.VIEWER, invited_by=gina
        )
    people = [make_person(globex, given_name=str(i)) for i in range(3)]
    person = people[-1]
    with tenant_context(acme):
        a_max = {
            "person": Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            "purpose": Purpose.objects.order_by("-pk").values_list("pk", flat=True).first(),
        }
    issue(globex, gina, people[0])
    issue(globex, gina, people[1])
    collection = issue(globex, gina, person).request
    with tenant_context(globex):
        purpose = Purpose.objects.create(code="b_only", name_ja="B社だけ", name_en="B only")
        hold = LegalHold.objects.create(person=person, reason="B社の保留", placed_by_email="g@x")
    token = api_token_create(firm=globex, user=gina, scopes=["read"], name="b")[0]
    membership = Membership.objects.get(user=gina, firm=globex)
    assert person.pk > a_max["person"] and purpose.pk > a_max["purpose"]
    assert token.pk > a_token.pk and mail.outbox
    return {
        ("members/", "membership_id"): str(membership.pk),
        ("invitations/", "invitation_id"): str(invitation.pk),
        ("api-tokens/", "token_id"): str(token.pk),
        ("people/", "pk"): str(person.pk),
        ("collection/paper/", "person_pk"): str(person.pk),
        ("collection/", "pk"): str(collection.pk),
        ("purposes/", "pk"): str(purpose.pk),
        ("retention/holds/", "pk"): str(hold.pk),
    }


def test_the_matrix_covers_every_route():
    assert len(routes()) > 60


def test_a_member_of_one_firm_gets_404_on_every_route_of_another_firms_host(
    acme, globex, alice, b_ids
):
    mine = signed_in_firm_client(alice, acme)
    # Alice's cookies are host-only; she also brings them along, as a stolen cookie would be.
    intruder = Client(HTTP_HOST=firm_host(globex))
    intruder.cookies = mine.cookies
    leaks = []
    for route in routes():
        if route.startswith(OPEN_ON_ANY_FIRM_HOST):
            continue
        path = concrete(route, b_ids)
        for method in ("get", "post"):
            response = getattr(intruder, method)(path)
            if response.status_code != 404 or "グローベックス" in response.content.decode():
                leaks.append((method, path, response.status_code))
    assert not leaks, leaks


def test_ids_of_another_firm_are_404_on_your_own_host(acme, globex, alice, gina, b_ids):
    client = signed_in_firm_client(alice, acme)
    checked, leaks = 0, []
    for route in routes():
        if "<" not in route or route.startswith(OPEN_ON_ANY_FIRM_HOST):
            continue
        path = concrete(route, b_ids)
        statuses = {m: getattr(client, m)(path).status_code for m in ("get", "post")}
        if set(statuses.values()) - {404, 405} or 404 not in statuses.values():
            leaks.append((path, statuses))
        checked += 1
    assert not leaks, leaks
    assert checked > 20
    # Nothing of B's was touched.
    assert Membership.objects.filter(user=gina, firm=globex, role=Role.OWNER).exists()
    assert Invitation.objects.filter(firm=globex, revoked_at=None).exists()
    assert ApiToken.objects.filter(firm=globex, revoked_at=None).exists()
    with tenant_context(globex):
        assert Person.objects.count() == 3
        assert CollectionRequest.objects.filter(status=RequestStatus.PENDING).count() == 3
        assert LegalHold.objects.filter(lifted_at=None).exists()
        assert Purpose.objects.get(code="b_only").active
