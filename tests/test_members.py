"""Owners invite, change roles and remove members; the last owner always stays."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Invitation, Membership, Role
from accounts.tokens import token_hash
from tests.helpers import make_firm, make_user, signed_in_firm_client, signed_in_public_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return make_firm("acme", "アクメ株式会社")


@pytest.fixture
def alice(acme):
    return make_user("alice@acme.test", firm=acme, role=Role.OWNER)


def invitation_token(message) -> str:
    return re.search(r"/invitations/([^/\s]+)/", message.body)[1]


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """Post an invitation and return the token from the email (sent after commit)."""

    def post(client: Client, email: str, role: str) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/members/", {"email": email, "role": role})
        assert response.status_code == 302, response.content.decode()[-500:]
        return invitation_token(mail.outbox[-1])

    return post


def test_owner_invites_by_email_and_the_invitee_joins_with_that_role(acme, alice, invite):
    token = invite(signed_in_firm_client(alice, acme), "Bob@Acme.test", Role.HANDLER)
    assert mail.outbox[-1].to == ["bob@acme.test"]
    invitation = Invitation.objects.get()
    assert invitation.token_hash == token_hash(token)  # only the hash is stored
    assert token not in invitation.token_hash

    bob = make_user("bob@acme.test")
    response = signed_in_public_client(bob).post(f"/invitations/{token}/")
    assert response.status_code == 302 and response["Location"] == "/go/acme/"
    assert Membership.objects.get(firm=acme, user=bob).role == Role.HANDLER
    # The link is single-use.
    again = signed_in_public_client(bob).get(f"/invitations/{token}/")
    assert again.status_code == 404


def test_invitation_for_another_address_is_refused(acme, alice, invite):
    token = invite(signed_in_firm_client(alice, acme), "bob@acme.test", Role.HANDLER)
    mallory = make_user("mallory@evil.test")
    response = signed_in_public_client(mallory).post(f"/invitations/{token}/")
    assert "別のメールアドレス宛て" in response.content.decode()
    assert not Membership.objects.filter(user=mallory).exists()


def test_expired_or_revoked_invitations_are_refused(acme, alice, invite):
    owner = signed_in_firm_client(alice, acme)
    token = invite(owner, "bob@acme.test", Role.HANDLER)
    bob = make_user("bob@acme.test")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = signed_in_public_client(bob).post(f"/invitations/{token}/")
    assert response.status_code == 404
    assert "この招待リンクは使えません" in response.content.decode()

    token = invite(owner, "carol@acme.test", Role.VIEWER)
    invitation = Invitation.objects.get(email="carol@acme.test")
    owner.post(f"/invitations/{invitation.pk}/revoke/")
    carol = make_user("carol@acme.test")
    assert signed_in_public_client(carol).post(f"/invitations/{token}/").status_code == 404
    assert not Membership.objects.filter(user__in=[bob, carol]).exists()


def test_anonymous_invitee_is_asked_to_sign_in_or_sign_up(acme, alice, invite):
    token = invite(signed_in_firm_client(alice, acme), "dave@acme.test", Role.VIEWER)
    response = Client(HTTP_HOST="localhost").get(f"/invitations/{token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "アクメ株式会社" in page and "アカウントを作成" in page


def test_signup_from_an_invitation_joins_without_creating_a_firm(acme, alice, invite):
    from firms.models import Firm, SlugReservation

    token = invite(signed_in_firm_client(alice, acme), "erin@acme.test", Role.HANDLER)
    erin = Client(HTTP_HOST="localhost")
    erin.get(f"/invitations/{token}/")
    response = erin.post(
        "/accounts/signup/",
        {"email": "erin@acme.test", "password1": "a long enough phrase 9", "accept_terms": "on"},
    )
    assert response.status_code == 302
    assert not SlugReservation.objects.exists()
    link = re.search(r"(/accounts/confirm-email/[^/\s]+/)", mail.outbox[-1].body)[1]
    erin.post(link)
    response = erin.post(f"/invitations/{token}/")
    assert response.status_code == 302
    assert Membership.objects.get(user__email="erin@acme.test").firm == acme
    assert Firm.objects.exclude(schema_name="public").count() == 1


def test_non_owner_cannot_invite_change_or_remove(acme, alice):
    harry = make_user("harry@acme.test", firm=acme, role=Role.HANDLER)
    client = signed_in_firm_client(harry, acme)
    response = client.post("/members/", {"email": "x@acme.test", "role": Role.OWNER}, follow=True)
    assert response.status_code == 403 and "許可されていません" in response.content.decode()
    assert not Invitation.objects.exists()
    alice_membership = Membership.objects.get(user=alice)
    client.post(f"/members/{alice_membership.pk}/role/", {"role": Role.VIEWER})
    client.post(f"/members/{alice_membership.pk}/remove/")
    alice_membership.refresh_from_db()
    assert alice_membership.role == Role.OWNER


def test_last_owner_can_be_neither_demoted_nor_removed(acme, alice):
    owner = signed_in_firm_client(alice, acme)
    mine = Membership.objects.get(user=alice)
    response = owner.post(f"/members/{mine.pk}/role/", {"role": Role.HANDLER}, follow=True)
    assert "最後のオーナー" in response.content.decode()
    response = owner.post(f"/members/{mine.pk}/remove/", follow=True)
    assert "最後のオーナー" in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_owner_changes_a_role_and_removes_a_member(acme, alice):
    bob = make_user("bob@acme.test", firm=acme, role=Role.HANDLER)
    owner = signed_in_firm_client(alice, acme)
    bobs = Membership.objects.get(user=bob)
    owner.post(f"/members/{bobs.pk}/role/", {"role": Role.OWNER})
    bobs.refresh_from_db()
    assert bobs.role == Role.OWNER
    # With two owners, one may step down.
    mine = Membership.objects.get(user=alice)
    owner.post(f"/members/{mine.pk}/role/", {"role": Role.VIEWER})
    mine.refresh_from_db()
    assert mine.role == Role.VIEWER
    signed_in_firm_client(bob, acme).post(f"/members/{mine.pk}/remove/")
    assert not Membership.objects.filter(user=alice).exists()


def test_members_of_another_firm_cannot_be_touched_by_id(acme, alice):
    globex = make_firm("globex")
    gina = make_user("gina@globex.test", firm=globex, role=Role.OWNER)
    ginas = Membership.objects.get(user=gina)
    owner = signed_in_firm_client(alice, acme)
    assert owner.post(f"/members/{ginas.pk}/role/", {"role": Role.VIEWER}).status_code == 404
    assert owner.post(f"/members/{ginas.pk}/remove/").status_code == 404
    ginas.refresh_from_db()
    assert ginas.role == Role.OWNER


def test_invalid_email_or_existing_member_gets_a_clear_message(acme, alice):
    owner = signed_in_firm_client(alice, acme)
    response = owner.post("/members/", {"email": "not-an-email", "role": Role.HANDLER})
    assert "有効なメールアドレス" in response.content.decode()
    response = owner.post("/members/", {"email": "alice@acme.test", "role": Role.HANDLER})
    assert "既にメンバー" in response.content.decode()
    assert not Invitation.objects.exists()


def test_operators_cannot_be_invited(acme, alice):
    make_user("olga@ops.test", operator=True)
    response = signed_in_firm_client(alice, acme).post(
        "/members/", {"email": "olga@ops.test", "role": Role.HANDLER}
    )
    assert "運用者アカウント" in response.content.decode()
    assert not Invitation.objects.exists()
