"""An accountant practice is billed once, per client firm, for all its clients: its clients
need no subscription of their own, and the quantity follows the practice's active links."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role
from billing import services
from billing.models import FirmBilling
from practices import services as practices
from practices.models import PracticeMember
from tests.billing.conftest import subscribe
from tests.helpers import make_firm, make_user, signed_in_firm_client

pytestmark = pytest.mark.django_db


def stripe_quantity(stub, firm) -> int:
    record = FirmBilling.objects.get(firm=firm)
    return stub.subscriptions[record.stripe_subscription_id]["items"]["data"][0]["quantity"]


def test_a_practice_pays_for_every_client_once(
    billing_on, acme, globex, alice, gina, quantity_sync_inline, django_capture_on_commit_callbacks
):
    tanaka = make_user("tanaka@zeirishi.test")
    own_firm = make_firm("tanaka-office", "田中税理士事務所")
    Membership.objects.create(user=tanaka, firm=own_firm, role=Role.OWNER)
    practice = practices.practice_create(user=tanaka, name="田中税理士事務所")
    admin = PracticeMember.objects.get(user=tanaka, practice=practice)
    with pytest.raises(Exception, match="オーナーの事業者"):
        practices.billing_firm_set(admin=admin, firm=acme)  # not the practice's to bill
    practices.billing_firm_set(admin=admin, firm=own_firm)
    subscribe(own_firm, billing_on, status="active", plan="accountant")

    # Free allows five people; a client covered by the practice has no such limit.
    assert services.billing_state(acme).plan.code == "free"
    for firm, owner in ((acme, alice), (globex, gina)):
        link = practices.practice_invite(
            owner=Membership.objects.get(user=owner, firm=firm), code=practice.code
        )
        with django_capture_on_commit_callbacks(execute=True):
            practices.practice_accept(admin=admin, link=link)
    assert stripe_quantity(billing_on, own_firm) == 2
    state = services.billing_state(acme)
    assert state.plan.code == "accountant" and state.covered_by == "田中税理士事務所"
    with tenant_context(acme):
        assert services.can_add_data(acme, adding_people=10) is None
    page = signed_in_firm_client(alice, acme).get("/billing/").content.decode()
    assert "田中税理士事務所の会計事務所プランでご利用中です" in page

    # The owner ends the link: one client fewer, and acme is back on its own (Free).
    link = practice.clients.get(firm=acme)
    with django_capture_on_commit_callbacks(execute=True):
        practices.link_end(user=alice, link=link, as_owner=True)
    assert stripe_quantity(billing_on, own_firm) == 1
    assert services.billing_state(acme).plan.code == "free"
