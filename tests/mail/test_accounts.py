"""Messages about accounts: invitations, and allauth's own emails (sign-up verification,
"an account already exists", password reset, an unknown address, verifying on login), each
in the recipient's language, which follows the language they sign up in and switch to."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from accounts.models import Membership, Role, User
from accounts.services import invitation_create
from tests.helpers import PASSWORD, PUBLIC_HOST, make_user, signed_in_firm_client
from tests.helpers import signed_in_public_client as public_client

from .conftest import after_commit, in_language, no_number, only_message

pytestmark = pytest.mark.django_db


def english(client: Client) -> Client:
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    return client


def signup(client: Client, email: str = "hanako@yamada.test", slug: str = "yamada"):
    return client.post(
        "/accounts/signup/",
        {
            "email": email,
            "password1": PASSWORD,
            "firm_name": "山田商事株式会社",
            "firm_slug": slug,
            "accept_terms": "on",
        },
    )


# --- invitations ----------------------------------------------------------------------------


def invite(owner: User, email: str, role: str = Role.HANDLER) -> None:
    membership = Membership.objects.get(user=owner)
    with after_commit():
        invitation_create(actor=membership, email=email, role=role)


def test_an_invitation_is_japanese_by_default_with_its_link_on_the_bare_domain(acme, alice):
    invite(alice, "bob@example.test")
    message = only_message()
    in_language(message, "ja")
    assert message.to == ["bob@example.test"]
    assert "アクメ株式会社 への招待" in message.subject
    assert "事務取扱担当者" in message.text  # the role, as the invitee will hold it
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 まで有効", message.text)
    [link] = message.links()
    assert re.fullmatch(r"http://localhost(:\d+)?/invitations/[^/]+/", link)
    assert link in message.html and message.hosts() == {"localhost"}
    no_number(message)


def test_an_invitation_follows_the_invitees_language_or_else_the_inviters(acme, alice):
    bob = make_user("bob@example.test")
    bob.language = "en"
    bob.save()
    invite(alice, "bob@example.test")
    message = only_message()
    in_language(message, "en")
    assert "Accept the invitation" in message.html and "Join with the link below" in message.text
    assert "事務取扱担当者" not in message.text  # the role, in English too
    assert re.search(r"valid until \d{1,2} [A-Z][a-z]+ \d{4}", message.text)

    # Nobody has an account at that address: the language the owner is using.
    mail.outbox.clear()
    with translation.override("en"):
        invite(alice, "carol@example.test")
    in_language(only_message(), "en")


# --- allauth --------------------------------------------------------------------------------


def test_signup_verification_is_in_the_language_of_the_signup_page():
    response = signup(Client(HTTP_HOST=PUBLIC_HOST))
    assert response.status_code == 302
    message = only_message()
    in_language(message, "ja")
    assert "メールアドレスの確認" in message.subject and "有効期限は3日です" in message.text
    [link] = message.links()
    assert re.fullmatch(r"http://localhost(:\d+)?/accounts/confirm-email/[^/]+/", link)
    assert message.hosts() == {"localhost"}
    assert User.objects.get(email="hanako@yamada.test").language == "ja"
    no_number(message)

    mail.outbox.clear()
    signup(english(Client(HTTP_HOST=PUBLIC_HOST)), email="john@smith.test", slug="smith")
    message = only_message()
    in_language(message, "en")
    assert "Confirm your email address" in message.subject
    assert "The link is valid for 3 days." in message.text
    assert User.objects.get(email="john@smith.test").language == "en"


def test_signing_up_again_tells_the_owner_of_the_address_in_their_language():
    signup(Client(HTTP_HOST=PUBLIC_HOST))  # a Japanese account
    cache.clear()  # past the cooldown between two mails to one address
    mail.outbox.clear()
    second = english(Client(HTTP_HOST=PUBLIC_HOST))
    assert signup(second, slug="yamada2").status_code == 302
    message = only_message()
    in_language(message, "ja")  # the account holder's language, not the stranger's
    assert "既に登録されています" in message.subject
    assert "yamada2" not in message.everything
    assert all("/accounts/password/reset/" in link for link in message.links())
    assert message.hosts() == {"localhost"}


def test_password_reset_is_in_the_accounts_language(acme, alice):
    alice.language = "en"
    alice.save()
    response = Client(HTTP_HOST=PUBLIC_HOST).post(
        "/accounts/password/reset/", {"email": alice.email}
    )
    assert response.status_code == 302
    message = only_message()
    in_language(message, "en")
    assert "Reset your password" in message.subject
    [link] = message.links()
    assert re.fullmatch(r"http://localhost(:\d+)?/accounts/password/reset/key/[^/]+/", link)
    # The link works: allauth takes the key and asks for the new password.
    opened = Client(HTTP_HOST=PUBLIC_HOST).get(urlsplit(link).path, follow=True)
    assert opened.status_code == 200 and "password1" in opened.content.decode()
    no_number(message)


def test_a_reset_for_an_unknown_address_answers_in_the_language_of_the_page():
    client = Client(HTTP_HOST=PUBLIC_HOST)
    client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    message = only_message()
    in_language(message, "ja")
    assert "アカウントは登録されていません" in message.text
    assert all("/accounts/signup/" in link for link in message.links())

    mail.outbox.clear()
    cache.clear()
    english(client).post("/accounts/password/reset/", {"email": "nobody@example.test"})
    message = only_message()
    in_language(message, "en")
    assert "no account is registered with this address" in message.text


def test_logging_in_with_an_unverified_address_sends_a_verification_in_the_accounts_language():
    user = User.objects.create_user(email="late@example.test", password=PASSWORD, language="en")
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    Client(HTTP_HOST=PUBLIC_HOST).post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD}
    )
    message = only_message()
    in_language(message, "en")
    assert "Open the link below to confirm this email address." in message.text
    assert "/accounts/confirm-email/" in message.links()[0]


# --- the language switch --------------------------------------------------------------------


def test_switching_the_interface_language_switches_the_emails(acme, alice):
    english(public_client(alice))
    alice.refresh_from_db()
    assert alice.language == "en"

    firm_client = signed_in_firm_client(alice, acme)
    firm_client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    alice.refresh_from_db()
    assert alice.language == "ja"

    # A language the product does not have changes nothing.
    firm_client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    alice.refresh_from_db()
    assert alice.language == "ja"
