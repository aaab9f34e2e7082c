"""Who reaches a firm's host. Names by role, and always someone who must not get in."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import HostHandoff, Role
from tests.helpers import (
    firm_host,
    make_firm,
    make_user,
    signed_in_firm_client,
    signed_in_public_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return make_firm("acme", "アクメ株式会社")


@pytest.fixture
def globex():
    return make_firm("globex", "グローベックス株式会社")


def test_owner_reaches_dashboard_of_own_firm(acme):
    alice = make_user("alice@acme.test", firm=acme, role=Role.OWNER)
    response = signed_in_firm_client(alice, acme).get("/")
    assert response.status_code == 200
    assert "アクメ株式会社" in response.content.decode()


def test_member_of_one_firm_gets_404_on_another_firms_host(acme, globex):
    alice = make_user("alice@acme.test", firm=acme)
    # Alice's own session, presented on Globex's host: the membership check must refuse it.
    client = signed_in_firm_client(alice, acme)
    response = client.get("/", HTTP_HOST=firm_host(globex))
    assert response.status_code == 404
    assert "グローベックス" not in response.content.decode()


def test_go_to_firm_without_membership_is_404_and_issues_no_ticket(acme, globex):
    alice = make_user("alice@acme.test", firm=acme)
    response = signed_in_public_client(alice).get(f"/go/{globex.slug}/")
    assert response.status_code == 404
    assert not HostHandoff.objects.filter(firm=globex).exists()


def test_unknown_firm_host_is_404():
    assert Client(HTTP_HOST="nobody.localhost").get("/").status_code == 404


def test_anonymous_visitor_is_sent_to_sign_in_on_the_bare_domain(acme):
    response = Client(HTTP_HOST=firm_host(acme)).get("/members/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.hostname == "localhost"
    assert location.path == "/go/acme/"
    assert "next=%2Fmembers%2F" in location.query


def test_operator_gets_404_on_every_firm_host(acme):
    olga = make_user("olga@ops.test", operator=True)
    public = signed_in_public_client(olga)
    assert public.get(f"/go/{acme.slug}/").status_code == 404
    assert public.get("/operator/").status_code == 200


def test_operator_without_mfa_can_do_nothing_but_enrol():
    olga = make_user("olga@ops.test", operator=True, mfa=False)
    public = signed_in_public_client(olga)
    for path in ("/operator/", "/home/", "/"):
        response = public.get(path)
        assert response.status_code == 302 and response["Location"] == "/mfa/required/", path
    assert public.get("/mfa/required/").status_code == 200


def test_operator_console_is_404_for_firm_users(acme):
    alice = make_user("alice@acme.test", firm=acme)
    assert signed_in_public_client(alice).get("/operator/").status_code == 404


@pytest.mark.parametrize("role", [Role.OWNER, Role.HANDLER, Role.ACCOUNTANT])
def test_roles_that_may_see_numbers_must_enrol_mfa_first(acme, role):
    bob = make_user("bob@acme.test", firm=acme, role=role, mfa=False)
    response = signed_in_firm_client(bob, acme).get("/")
    assert response.status_code == 302
    assert response["Location"] == "http://localhost:8000/mfa/required/"


def test_viewer_needs_no_mfa(acme):
    vera = make_user("vera@acme.test", firm=acme, role=Role.VIEWER, mfa=False)
    assert signed_in_firm_client(vera, acme).get("/").status_code == 200


def test_handoff_ticket_works_once(acme):
    alice = make_user("alice@acme.test", firm=acme)
    location = urlsplit(signed_in_public_client(alice).get("/go/acme/")["Location"])
    url = f"{location.path}?{location.query}"
    assert Client(HTTP_HOST=location.hostname).get(url).status_code == 302
    assert Client(HTTP_HOST=location.hostname).get(url).status_code == 404


def test_handoff_ticket_expires(acme):
    alice = make_user("alice@acme.test", firm=acme)
    location = urlsplit(signed_in_public_client(alice).get("/go/acme/")["Location"])
    HostHandoff.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    response = Client(HTTP_HOST=location.hostname).get(f"{location.path}?{location.query}")
    assert response.status_code == 404


def test_handoff_ticket_for_one_firm_is_refused_on_another(acme, globex):
    alice = make_user("alice@acme.test", firm=acme)
    make_user("alice2@globex.test", firm=globex)
    location = urlsplit(signed_in_public_client(alice).get("/go/acme/")["Location"])
    response = Client(HTTP_HOST=firm_host(globex)).get(f"{location.path}?{location.query}")
    assert response.status_code == 404


def test_signing_out_of_the_bare_domain_ends_the_firm_session(acme):
    alice = make_user("alice@acme.test", firm=acme)
    public = signed_in_public_client(alice)
    location = urlsplit(public.get("/go/acme/")["Location"])
    firm_client = Client(HTTP_HOST=location.hostname)
    firm_client.get(f"{location.path}?{location.query}")
    assert firm_client.get("/").status_code == 200
    public.post("/accounts/logout/")
    response = firm_client.get("/")
    assert response.status_code == 302 and "/go/acme/" in response["Location"]


def test_signing_out_on_the_firm_host_ends_the_bare_domain_session(acme):
    alice = make_user("alice@acme.test", firm=acme)
    public = signed_in_public_client(alice)
    location = urlsplit(public.get("/go/acme/")["Location"])
    firm_client = Client(HTTP_HOST=location.hostname)
    firm_client.get(f"{location.path}?{location.query}")
    firm_client.post("/logout/")
    assert public.get("/home/").status_code == 302  # back to the login page


def test_accountant_switches_between_client_firms(acme, globex):
    carol = make_user("carol@tax.test", firm=acme, role=Role.ACCOUNTANT)
    from accounts.services import membership_create

    membership_create(user=carol, firm=globex, role=Role.ACCOUNTANT)
    home = signed_in_public_client(carol).get("/home/")
    page = home.content.decode()
    assert home.status_code == 200
    assert "アクメ株式会社" in page and "グローベックス株式会社" in page
    assert signed_in_firm_client(carol, globex).get("/").status_code == 200
