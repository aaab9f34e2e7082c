"""A token is only as good as its holder today: a deactivated account's token is refused,
and a token acts with its member's current role, not the role they had when it was minted
(issue 16, finding 6). Through the real API, with a bearer token."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from accounts import services
from accounts.api_tokens import api_token_create
from accounts.models import Membership, Role
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
PURPOSE = {"purpose": "withholding_slip"}


def api(firm, raw: str) -> Client:
    return Client(HTTP_HOST=f"{firm.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def person(acme, alice) -> int:
    """Someone whose number Acme holds, recorded by the owner."""
    client = api(acme, api_token_create(firm=acme, user=alice, scopes=["write"], name="o")[1])
    created = client.post("/api/v1/people/", {
        "kind": "employee", "family_name": "山田", "given_name": "花子",
        "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ", "birth_date": "1990-04-01",
    }, content_type="application/json")  # fmt: skip
    assert created.status_code == 201
    person_id = created.json()["id"]
    stored = client.put(f"/api/v1/people/{person_id}/my-number/", {"my_number": NUMBER},
                        content_type="application/json")  # fmt: skip
    assert stored.status_code == 200
    return person_id


def reveal(client: Client, person_id: int):
    return client.post(f"/api/v1/people/{person_id}/reveal/", PURPOSE,
                       content_type="application/json")  # fmt: skip


def log_of(firm, user) -> list[AccessLogEntry]:
    """What the user did in the firm, after minting their token."""
    with tenant_context(firm):
        mine = AccessLogEntry.objects.filter(actor_user_id=user.pk).exclude(action="token_create")
        return list(mine.order_by("seq"))


def test_a_deactivated_users_token_is_refused_and_the_attempt_logged(acme, harry, person):
    token, raw = api_token_create(firm=acme, user=harry, scopes=["read", "reveal"], name="p")
    client = api(acme, raw)
    assert reveal(client, person).json() == {"my_number": NUMBER}  # works while active
    harry.is_active = False
    harry.save(update_fields=["is_active"])

    for response in (reveal(client, person), client.get("/api/v1/people/")):
        assert response.status_code == 401
        assert NUMBER not in response.content.decode()
    mine = log_of(acme, harry)
    assert [(e.action, e.result) for e in mine] == [
        ("reveal", "allowed"),
        ("login", "denied"),
        ("login", "denied"),
    ]
    refused = mine[1]
    assert refused.api_token_id == token.pk and refused.actor_email == harry.email
    assert refused.detail == {
        "via": "api_token", "reason": "account_inactive", "method": "POST",
        "path": f"/api/v1/people/{person}/reveal/",
    }  # fmt: skip
    with tenant_context(acme):
        assert verify_chain().ok


def test_a_token_of_someone_no_longer_a_member_is_refused_and_logged(acme, harry, person):
    token, raw = api_token_create(firm=acme, user=harry, scopes=["read", "reveal"], name="p")
    Membership.objects.filter(user=harry, firm=acme).delete()  # ended without the service
    assert reveal(api(acme, raw), person).status_code == 401
    [refused] = log_of(acme, harry)
    assert (refused.action, refused.result, refused.api_token_id) == ("login", "denied", token.pk)
    assert refused.detail["reason"] == "not_a_member"


def test_a_wrong_token_is_401_and_floods_no_log(acme, harry, person):
    with tenant_context(acme):
        before = AccessLogEntry.objects.count()
    assert reveal(api(acme, "mnc_not-a-token"), person).status_code == 401
    with tenant_context(acme):
        assert AccessLogEntry.objects.count() == before


def test_a_demoted_handlers_token_no_longer_reveals(acme, alice, harry, person):
    raw = api_token_create(firm=acme, user=harry, scopes=["read", "reveal"], name="p")[1]
    client = api(acme, raw)
    assert reveal(client, person).json() == {"my_number": NUMBER}
    owner = Membership.objects.select_related("firm").get(user=alice, firm=acme)
    target = Membership.objects.select_related("user", "firm").get(user=harry, firm=acme)
    services.membership_change_role(actor=owner, membership=target, role=Role.VIEWER)

    refused = reveal(client, person)
    assert refused.status_code == 403 and NUMBER not in refused.content.decode()
    last = log_of(acme, harry)[-1]
    assert (last.action, last.result, last.actor_role, last.person_id) == (
        "reveal", "denied", Role.VIEWER, person,
    )  # fmt: skip
    assert client.get("/api/v1/people/").status_code == 200  # still a viewer's token


def test_a_tokens_reveal_is_logged_under_its_holders_email_and_role(acme, harry, person):
    """Who touched whose number: the entry names the token's holder as a signed-in member's
    entry does (a field-order slip once logged every API access under the email "True")."""
    raw = api_token_create(firm=acme, user=harry, scopes=["reveal"], name="payroll")[1]
    assert reveal(api(acme, raw), person).status_code == 200
    with tenant_context(acme):
        entry = AccessLogEntry.objects.filter(action="reveal").latest("seq")
    assert (entry.actor_email, entry.actor_user_id, entry.actor_role, entry.person_id) == (
        harry.email, harry.pk, Role.HANDLER, person,
    )  # fmt: skip
    assert entry.api_token_id is not None


def test_a_refusal_names_no_person_for_an_id_that_is_nobody_here(acme, vera):
    """A number-shaped id in the URL is nobody's: the refusal is logged without it."""
    raw = api_token_create(firm=acme, user=vera, scopes=["reveal"], name="viewer")[1]
    assert reveal(api(acme, raw), 123456789018).status_code == 403
    with tenant_context(acme):
        denied = AccessLogEntry.objects.get(action="reveal", result="denied")
    assert denied.person_id is None and "123456789018" not in str(denied.detail)
