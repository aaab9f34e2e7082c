"""Break-glass support access, suspension, and operators never seeing a plaintext number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import SupportGrant
from firms.models import Firm
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.custody import services
from tenants.custody.models import Person
from tests.helpers import signed_in_firm_client, signed_in_public_client

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"


@pytest.fixture
def olga(db):
    from tests.helpers import make_user

    return make_user("olga@ops.test", operator=True)


@pytest.fixture
def held(acme, harry):
    """A person of Acme's with a number."""
    actor = Actor(user_id=harry.pk, email=harry.email, role="handler", request_id="t")
    with tenant_context(acme):
        person = services.person_create(actor=actor, data={
            "kind": "employee", "family_name": "山田", "given_name": "花子",
            "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ",
        })  # fmt: skip
        services.number_set(actor=actor, firm=acme, person=person, raw=NUMBER,
                            purpose_codes=["withholding_slip"])  # fmt: skip
    return person


def status_on_firm_host(operator, firm, path="/") -> int:
    """What an operator gets on a firm's host: through /go/ and the hand-off, as a browser."""
    response = signed_in_public_client(operator).get(f"/go/{firm.slug}/")
    if response.status_code != 302:
        return response.status_code
    return signed_in_firm_client(operator, firm).get(path).status_code


def request_access(olga, acme, minutes=30):
    console = signed_in_public_client(olga)
    response = console.post(
        f"/operator/firms/{acme.slug}/support/", {"reason": "障害調査 #123", "minutes": minutes}
    )
    assert response.status_code == 302
    return SupportGrant.objects.get(firm=acme)


def test_support_access_needs_the_owners_approval_and_ends_by_itself(acme, alice, olga, held):
    assert status_on_firm_host(olga, acme, "/people/") == 404
    grant = request_access(olga, acme)
    assert status_on_firm_host(olga, acme, "/people/") == 404  # pending

    owner = signed_in_firm_client(alice, acme)
    assert "サポートアクセスの申請が1件あります" in owner.get("/").content.decode()
    page = owner.get("/support-access/").content.decode()
    assert "olga@ops.test" in page and "障害調査 #123" in page
    owner.post(f"/support-access/{grant.pk}/", {"decision": "approve"})
    grant.refresh_from_db()
    assert grant.is_active

    support = signed_in_firm_client(olga, acme)
    listing = support.get("/people/")
    assert listing.status_code == 200 and "山田 花子" in listing.content.decode()
    assert NUMBER not in listing.content.decode()
    refused = support.post(f"/people/{held.pk}/reveal/", {"purpose": "withholding_slip"})
    assert (
        NUMBER not in refused.content.decode() and "1234-5678-9018" not in refused.content.decode()
    )
    assert support.get("/settings/").status_code == 403
    assert support.get("/support-access/").status_code == 403

    with tenant_context(acme):
        roles = set(AccessLogEntry.objects.values_list("actor_role", "action"))
    assert ("support", "list") in roles and ("operator", "support_request") in roles
    assert ("owner", "support_approve") in roles
    with tenant_context(acme):
        # The refused reveal is on the firm's record too.
        assert AccessLogEntry.objects.filter(
            actor_role="support", action="reveal", result="denied"
        ).exists()

    SupportGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert support.get("/people/").status_code == 404  # the open session ends with the grant
    assert status_on_firm_host(olga, acme, "/people/") == 404


def test_the_owner_may_deny_or_end_a_grant_early(acme, alice, olga):
    owner = signed_in_firm_client(alice, acme)
    grant = request_access(olga, acme)
    owner.post(f"/support-access/{grant.pk}/", {"decision": "deny"})
    grant.refresh_from_db()
    assert grant.status == "denied"
    assert status_on_firm_host(olga, acme) == 404

    SupportGrant.objects.all().delete()
    grant = request_access(olga, acme)
    owner.post(f"/support-access/{grant.pk}/", {"decision": "approve"})
    support = signed_in_firm_client(olga, acme)
    assert support.get("/").status_code == 200
    owner.post(f"/support-access/{grant.pk}/", {"decision": "revoke"})
    assert support.get("/").status_code == 404


def test_only_the_firms_owner_decides(acme, globex, alice, harry, gina, olga):
    grant = request_access(olga, acme)
    assert signed_in_firm_client(harry, acme).get("/support-access/").status_code == 403
    signed_in_firm_client(harry, acme).post(f"/support-access/{grant.pk}/", {"decision": "approve"})
    # Another firm's owner, on their own host, cannot reach Acme's grant.
    response = signed_in_firm_client(gina, globex).post(
        f"/support-access/{grant.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 404
    grant.refresh_from_db()
    assert grant.status == "pending"


def test_a_grant_for_one_firm_opens_no_other(acme, globex, alice, olga):
    grant = request_access(olga, acme)
    signed_in_firm_client(alice, acme).post(f"/support-access/{grant.pk}/", {"decision": "approve"})
    assert status_on_firm_host(olga, acme) == 200
    assert status_on_firm_host(olga, globex) == 404


def firm_routes() -> list[str]:
    """Every firm-host URL pattern outside the API (the API refuses sessions altogether)."""
    found: list[str] = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append(prefix + str(pattern.pattern))

    walk(get_resolver("config.urls_tenant").url_patterns)
    return [route for route in found if not route.startswith("api/")]


def concrete(route: str, person_id: int) -> str:
    path = "/" + route
    for converter in ("<int:pk>", "<int:person_pk>", "<int:membership_id>", "<int:invitation_id>",
                      "<int:token_id>", "<int:grant_id>"):  # fmt: skip
        path = path.replace(converter, str(person_id))
    path = path.replace("<uuid:pk>", "00000000-0000-0000-0000-000000000000")
    return path.replace("<str:token>", "x" * 43)


def test_an_operator_under_support_access_gets_no_plaintext_from_any_route(acme, alice, olga, held):
    grant = request_access(olga, acme)
    signed_in_firm_client(alice, acme).post(f"/support-access/{grant.pk}/", {"decision": "approve"})
    support = signed_in_firm_client(olga, acme)
    routes = firm_routes()
    assert len(routes) > 20
    for route in routes:
        path = concrete(route, held.pk)
        for method in ("get", "post"):
            response = getattr(support, method)(
                path, {"purpose": "withholding_slip", "person_ids": [held.pk]}
            )
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert NUMBER.encode() not in body, (method, path)
            assert b"1234-5678-9018" not in body, (method, path)
    with tenant_context(acme):
        assert Person.objects.get(pk=held.pk).has_number  # nothing was deleted either


def test_an_operator_cannot_get_an_api_token(acme, olga):
    with pytest.raises(CommandError):
        call_command("create_api_token", tenant=acme.slug, user=olga.email, scopes="read,reveal")


def test_a_suspended_firm_is_read_only_but_reveals_still_work(acme, harry, olga, held):
    console = signed_in_public_client(olga)
    no_reason = console.post(f"/operator/firms/{acme.slug}/status/", {"to": "suspended"})
    assert no_reason.status_code == 302
    assert Firm.objects.get(pk=acme.pk).status == "active"
    console.post(
        f"/operator/firms/{acme.slug}/status/", {"to": "suspended", "reason": "未払い調査"}
    )
    assert Firm.objects.get(pk=acme.pk).status == "suspended"
    handler = signed_in_firm_client(harry, acme)
    assert "停止中" in handler.get("/").content.decode()
    revealed = handler.post(f"/people/{held.pk}/reveal/", {"purpose": "withholding_slip"})
    assert "1234-5678-9018" in revealed.content.decode()
    with tenant_context(acme):
        entry = AccessLogEntry.objects.get(action="firm_suspend")
    assert entry.actor_email == "olga@ops.test" and entry.detail["reason"] == "未払い調査"
    console.post(f"/operator/firms/{acme.slug}/status/", {"to": "active", "reason": "解決"})
    assert Firm.objects.get(pk=acme.pk).status == "active"


def test_the_console_shows_people_size_keys_and_chain(acme, olga, held):
    page = signed_in_public_client(olga).get("/operator/").content.decode()
    assert "アクメ株式会社" in page and "local" in page
    assert "スタンダード" in page  # the plan (billing off: the configured default)
    detail = signed_in_public_client(olga).get(f"/operator/firms/{acme.slug}/").content.decode()
    assert "アクセス記録の連鎖を検証する" in detail
    verified = signed_in_public_client(olga).post(
        f"/operator/firms/{acme.slug}/verify/", follow=True
    )
    assert "アクセス記録の連鎖は正常です" in verified.content.decode()


def test_the_console_is_for_operators_only(acme, alice):
    client = signed_in_public_client(alice)
    assert client.get("/operator/").status_code == 404
    assert client.get(f"/operator/firms/{acme.slug}/").status_code == 404
    assert (
        client.post(
            f"/operator/firms/{acme.slug}/support/", {"reason": "x", "minutes": 5}
        ).status_code
        == 404
    )


def test_a_suspended_firm_takes_no_new_data_in_the_ui_or_the_api(acme, harry, olga, held):
    from tests.api.test_api import api, token

    raw = token(acme, harry)
    console = signed_in_public_client(olga)
    console.post(f"/operator/firms/{acme.slug}/status/", {"to": "suspended", "reason": "調査"})
    handler = signed_in_firm_client(harry, acme)
    response = handler.post("/people/new/", {
        "kind": "employee", "family_name": "新", "given_name": "人",
        "family_name_kana": "シン", "given_name_kana": "ジン",
    }, follow=True)  # fmt: skip
    assert "停止中" in response.content.decode()
    refused = api(acme, raw).post(
        "/api/v1/people/",
        {"kind": "employee", "family_name": "新", "given_name": "人",
         "family_name_kana": "シン", "given_name_kana": "ジン"},
        content_type="application/json",
    )  # fmt: skip
    assert refused.status_code == 403 and refused.json()["code"] == "suspended"
    request = api(acme, raw).post(
        "/api/v1/collection-requests/", {"person": held.pk}, content_type="application/json"
    )
    assert request.status_code == 403
    with tenant_context(acme):
        assert Person.objects.count() == 1
    # Reveals still work: the firm's legal duties do not stop.
    revealed = api(acme, raw).post(
        f"/api/v1/people/{held.pk}/reveal/", {"purpose": "withholding_slip"},
        content_type="application/json",
    )  # fmt: skip
    assert revealed.status_code == 200 and revealed.json()["my_number"] == NUMBER


def test_an_operator_rotates_a_firms_key_from_the_console_and_numbers_still_reveal(
    acme, harry, olga, held
):
    from firms.models import FirmKey

    before = FirmKey.objects.get(firm=acme).key_id
    response = signed_in_public_client(olga).post(
        f"/operator/firms/{acme.slug}/rotate-key/", follow=True
    )
    assert "鍵をローテーションしました" in response.content.decode()
    assert FirmKey.objects.get(firm=acme).key_id != before
    revealed = signed_in_firm_client(harry, acme).post(
        f"/people/{held.pk}/reveal/", {"purpose": "withholding_slip"}
    )
    assert "1234-5678-9018" in revealed.content.decode()
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="key", detail__event="rotate").exists()
