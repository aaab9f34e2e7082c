"""Issue 16's findings that the authorization layer closes, each tried as the person who must
not get through: 2 (bare-domain pages and the portfolio), 5 (collection links), 10 (a refusal
inside a bulk operation), 13 (duplicate detection as a probe), and every page refusal on
the firm's record. Each test names its finding; docs/threat-model.md lists them."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role
from practices import services as practices
from practices.assignments import set_all_clients as assign_every_client
from practices.models import PracticeMember
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain
from tests.collection.factories import handler_actor, issue, make_person, token_of
from tests.custody.test_csv_import import english_csv, line, upload
from tests.helpers import signed_in_firm_client, signed_in_public_client

pytestmark = pytest.mark.django_db


def entries(firm, **filters) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(AccessLogEntry.objects.filter(**filters).order_by("seq"))


@pytest.fixture
def practice(acme, alice, tanaka, suzuki):
    created = practices.practice_create(user=tanaka, name="田中税理士事務所")
    admin = PracticeMember.objects.get(user=tanaka, practice=created)
    staff = practices.member_add(admin=admin, email=suzuki.email)
    assign_every_client(admin=admin, member=staff, value=True)  # new staff reach no client
    link = practices.practice_invite(
        owner=Membership.objects.get(user=alice, firm=acme), code=created.code
    )
    practices.practice_accept(admin=admin, link=link)
    make_person(acme, family_name="秘密", given_name="花子")
    return created


# -- finding 2: accountant pages on the bare domain ------------------------------------------

PORTFOLIO_PAGES = ("/portfolio/", "/portfolio/new-hires/", "/portfolio/deletions/")


def test_f2_staff_removed_from_the_firm_no_longer_read_it_from_the_portfolio(
    acme, practice, suzuki
):
    console = signed_in_public_client(suzuki)
    assert "アクメ" in console.get("/portfolio/").content.decode()
    assert "秘密" in console.get("/portfolio/new-hires/").content.decode()
    Membership.objects.filter(user=suzuki, firm=acme).delete()  # the practice link stays
    for page in PORTFOLIO_PAGES:
        text = console.get(page).content.decode()
        assert "アクメ" not in text and "秘密" not in text, page


def test_f2_staff_without_mfa_read_nothing_and_are_sent_to_enrol(acme, practice, suzuki):
    Authenticator.objects.filter(user=suzuki).delete()
    console = signed_in_public_client(suzuki)
    for page in (*PORTFOLIO_PAGES, "/audit-exports/"):
        response = console.get(page)
        assert response.status_code == 302 and response["Location"] == "/mfa/required/", page
    assert "秘密" not in console.get("/portfolio/new-hires/", follow=True).content.decode()


def test_f2_every_portfolio_read_is_in_the_firms_log(acme, practice, suzuki):
    console = signed_in_public_client(suzuki)
    for page in PORTFOLIO_PAGES:
        console.get(page)
    logged = entries(acme, action="portfolio")
    assert [e.detail["page"] for e in logged] == ["portfolio", "new_hires", "deletions"]
    assert {e.actor_email for e in logged} == {suzuki.email}
    with tenant_context(acme):
        assert verify_chain().ok
        before = AccessLogEntry.objects.exclude(action="portfolio").latest("seq").at
    # The reads are on record, but the portfolio's "last access" is not its own read.
    from practices.portfolio import portfolio

    [row] = portfolio(practices.client_firms(suzuki, page="portfolio"))
    assert row.last_access == before


def test_f2_the_audit_export_lists_no_firm_to_an_inactive_or_mfa_less_owner(acme, alice):
    from audit.export_jobs import auditable_firms

    assert auditable_firms(alice) == [acme]
    Authenticator.objects.filter(user=alice).delete()
    assert auditable_firms(alice) == []


# -- every page refusal is on the firm's record -------------------------------------------


def test_a_role_refused_a_page_gets_403_and_the_refusal_is_logged(acme, vera):
    client = signed_in_firm_client(vera, acme)
    response = client.post("/api-tokens/", {"name": "x", "scopes": ["reveal"]})
    assert response.status_code == 403
    assert "許可されていません" in response.content.decode()
    [denied] = entries(acme, result="denied", action="tokens_manage")
    assert denied.actor_email == vera.email and denied.detail["authz"] == "tokens.manage"
    from accounts.models import ApiToken

    assert not ApiToken.objects.exists()


def test_an_inactive_account_is_not_let_into_the_firm(acme, harry):
    client = signed_in_firm_client(harry, acme)
    assert client.get("/people/").status_code == 200
    harry.is_active = False
    harry.save()
    response = client.get("/people/")
    assert response.status_code in (302, 404)
    assert "山田" not in response.content.decode()


# -- finding 5: collection links ------------------------------------------------------------


def test_f5_viewers_never_receive_a_live_collection_link(acme, harry, vera):
    issued = issue(acme, harry, make_person(acme))
    token = token_of(issued)
    pk = issued.request.pk
    viewer = signed_in_firm_client(vera, acme)
    page = viewer.get(f"/collection/{pk}/")
    assert page.status_code == 200 and token not in page.content.decode()
    assert viewer.get("/collection/issued/").status_code == 403
    assert entries(acme, action="link_show", result="allowed") == []


def test_f5_showing_a_link_is_logged(acme, harry):
    issued = issue(acme, harry, make_person(acme))
    handler = signed_in_firm_client(harry, acme)
    page = handler.get(f"/collection/{issued.request.pk}/")
    assert token_of(issued) in page.content.decode()
    [shown] = entries(acme, action="link_show")
    assert shown.actor_email == harry.email and shown.detail["request"] == issued.request.pk


# -- finding 10: a refusal inside a bulk operation ---------------------------------------------


def test_f10_a_refusal_inside_a_bulk_operation_refuses_and_is_logged(acme, vera):
    from authz.errors import flush_pending
    from tenants.collection import services as collection
    from tenants.collection.models import CollectionRequest
    from tenants.custody.errors import NotAllowed

    people = [make_person(acme), make_person(acme, given_name="次郎")]
    with tenant_context(acme):
        with pytest.raises(NotAllowed):
            collection.requests_create_many(
                actor=handler_actor(vera, role=Role.VIEWER), firm=acme, people=people
            )
        assert not CollectionRequest.objects.exists()
    flush_pending()  # what the middleware and Celery do once the request or task is over
    [denied] = entries(acme, result="denied")
    assert denied.action == "request" and denied.actor_email == vera.email


# -- finding 13: duplicate detection is a probe -------------------------------------------


def test_f13_a_role_that_may_not_reveal_cannot_probe_numbers_by_csv(acme, carol):
    from tenants.custody.models import ImportUpload, Person

    client = signed_in_firm_client(carol, acme)  # an accountant; the firm allows no reveal
    response = upload(client, english_csv(line(1), line(2)))
    assert response.status_code == 400 and "権限がありません" in response.content.decode()
    with tenant_context(acme):
        assert not Person.objects.exists() and not ImportUpload.objects.exists()
    [denied] = entries(acme, result="denied", action="number_match")
    assert denied.actor_email == carol.email and denied.detail["rows"] == 2


def test_f13_a_handlers_check_against_the_firms_numbers_is_logged(acme, harry):
    client = signed_in_firm_client(harry, acme)
    upload(client, english_csv(line(1), line(2), line(3)))
    [probe] = entries(acme, action="number_match")
    assert probe.result == "allowed" and probe.detail == {"checked": 3, "found": 0}


def test_f5_a_link_whose_sealed_token_was_tampered_with_is_a_logged_409(acme, harry):
    from tenants.collection.models import CollectionRequest

    issued = issue(acme, harry, make_person(acme))
    other = issue(acme, harry, make_person(acme, given_name="次郎"))
    with tenant_context(acme):  # one request's sealed token copied onto another's row
        sealed = CollectionRequest.objects.get(pk=other.request.pk).token_ciphertext
        CollectionRequest.objects.filter(pk=issued.request.pk).update(token_ciphertext=sealed)
    page = signed_in_firm_client(harry, acme).get(f"/collection/{issued.request.pk}/")
    assert page.status_code == 409 and token_of(other) not in page.content.decode()
    [denied] = entries(acme, action="link_show", result="denied")
    assert denied.detail["reason"] == "integrity_failure"
    assert denied.person_id == issued.request.person_id
    assert entries(acme, action="link_show", result="allowed") == []
