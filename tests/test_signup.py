"""Online sign-up: the firm exists only once its owner has verified their email."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists

from accounts.models import Membership, Role, User
from firms.models import Domain, Firm, FirmKey, SlugReservation
from tests.helpers import PASSWORD, make_firm

pytestmark = pytest.mark.django_db


def signup(client: Client, **overrides) -> object:
    data = {
        "email": "hanako@yamada.test",
        "password1": PASSWORD,
        "firm_name": "山田商事株式会社",
        "firm_slug": "yamada",
        "accept_terms": "on",
    }
    data.update(overrides)
    return client.post("/accounts/signup/", data)


def verification_link(message) -> str:
    return re.search(r"http://localhost(?::\d+)?(/accounts/confirm-email/[^/\s]+/)", message.body)[
        1
    ]


@pytest.fixture
def client():
    return Client(HTTP_HOST="localhost")


def test_signup_then_verify_provisions_the_firm_and_lands_the_owner_in_it(client):
    response = signup(client)
    assert response.status_code == 302
    assert not Firm.objects.filter(slug="yamada").exists()  # nothing until verified
    assert SlugReservation.objects.filter(slug="yamada").exists()
    link = verification_link(mail.outbox[0])

    assert client.get(link).status_code == 200  # a confirmation page, not a GET side effect
    response = client.post(link)
    firm = Firm.objects.get(slug="yamada")
    assert firm.name == "山田商事株式会社"
    assert schema_exists("firm_yamada")
    assert Domain.objects.get(tenant=firm).domain == "yamada.localhost"
    assert FirmKey.objects.get(firm=firm).state == FirmKey.State.ACTIVE
    owner = User.objects.get(email="hanako@yamada.test")
    assert Membership.objects.get(firm=firm, user=owner).role == Role.OWNER
    assert not SlugReservation.objects.filter(slug="yamada").exists()

    # Logged in on verification; home sends a one-firm owner into the firm...
    assert response.status_code == 302 and response["Location"] == "/home/"
    response = client.get("/home/")
    assert response["Location"] == "/go/yamada/"
    response = client.get("/go/yamada/")
    assert response["Location"].startswith("http://yamada.localhost:8000/auth/handoff/?t=")
    # ...where the dashboard first asks for MFA.
    firm_client = Client(HTTP_HOST="yamada.localhost")
    firm_client.get(response["Location"].split(":8000", 1)[1])
    assert firm_client.get("/")["Location"] == "http://localhost:8000/mfa/required/"


def test_the_cloned_firm_schema_has_the_tenant_tables_and_default_settings(client):
    signup(client)
    client.post(verification_link(mail.outbox[0]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT accountants_may_reveal FROM firm_yamada.workspace_firmsettings")
        assert cursor.fetchall() == [(False,)]


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("admin", "予約語"),
        ("www", "予約語"),
        ("Yamada", "半角英小文字"),
        ("ya", "3〜30文字"),
        ("a" * 31, "3〜30文字"),
        ("-yamada", "半角英小文字"),
        ("yama--da", "半角英小文字"),
        ("yamada_co", "半角英小文字"),
        ("やまだ", "半角英小文字"),
    ],
)
def test_bad_slug_is_refused_with_a_clear_message_and_nothing_is_created(client, slug, message):
    response = signup(client, firm_slug=slug)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()
    assert not SlugReservation.objects.exists()
    assert len(mail.outbox) == 0


def test_slug_of_an_existing_firm_is_refused(client):
    make_firm("yamada")
    response = signup(client)
    assert "既に使われています" in response.content.decode()
    assert not User.objects.exists()


def test_slug_waiting_for_another_owners_verification_is_refused(client):
    signup(client)
    other = Client(HTTP_HOST="localhost")
    response = signup(other, email="taro@other.test")
    assert "既に使われています" in response.content.decode()
    assert not User.objects.filter(email="taro@other.test").exists()


def test_weak_password_is_refused(client):
    response = signup(client, password1="password")
    page = response.content.decode()
    assert response.status_code == 200
    assert "このパスワードは一般的すぎます" in page or "短すぎます" in page
    assert not User.objects.exists()


def test_terms_must_be_accepted(client):
    response = signup(client, accept_terms="")
    assert "利用規約への同意が必要です" in response.content.decode()
    assert not User.objects.exists()


def test_second_signup_with_the_same_email_creates_nothing_and_reveals_nothing(client):
    from django.core.cache import cache

    signup(client)
    cache.clear()  # past the cooldown between two mails to one address
    second = Client(HTTP_HOST="localhost")
    response = signup(second, firm_slug="yamada2", firm_name="別会社")
    # The same answer as a first sign-up, so the form does not tell who has an account...
    assert response.status_code == 302
    assert User.objects.filter(email="hanako@yamada.test").count() == 1
    assert not SlugReservation.objects.filter(slug="yamada2").exists()
    # ...and the address's owner is told by email instead.
    assert len(mail.outbox) == 2
    assert "yamada2" not in mail.outbox[1].body


def test_verification_link_works_only_once(client):
    signup(client)
    link = verification_link(mail.outbox[0])
    client.post(link)
    again = Client(HTTP_HOST="localhost").post(link)
    assert Firm.objects.filter(slug="yamada").count() == 1
    assert again.status_code == 404
    follow = Client(HTTP_HOST="localhost").get(link)
    assert "リンクが不正か、期限が切れています" in follow.content.decode()


def test_expired_verification_link_is_refused_and_provisions_nothing(client):
    import time

    real_time = time.time
    # Sign up four days ago: the link (valid three days) has expired.
    with mock.patch("time.time", return_value=real_time() - 4 * 86400):
        signup(client)
    link = verification_link(mail.outbox[0])
    response = Client(HTTP_HOST="localhost").get(link)
    assert "リンクが不正か、期限が切れています" in response.content.decode()
    Client(HTTP_HOST="localhost").post(link)
    assert not Firm.objects.filter(slug="yamada").exists()
    assert not EmailAddress.objects.filter(verified=True).exists()
