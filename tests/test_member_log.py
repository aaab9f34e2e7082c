"""Every change to who may reveal is in the firm's tamper-evident log, in the same transaction
as the change: roles, removals, invitations, API tokens, the create_api_token command and the
purposes of use. A change whose entry cannot be written does not happen, and a token can only
be minted in its holder's own name (issue 16, finding 4)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from accounts import services
from accounts.api_tokens import api_token_create
from accounts.models import ApiToken, Invitation, Membership, Role
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, verify_chain
from tenants.custody.models import Purpose
from tests.helpers import make_user, signed_in_firm_client, signed_in_public_client

pytestmark = pytest.mark.django_db


def entries(firm, action: str) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(AccessLogEntry.objects.filter(action=action).order_by("seq"))


def chain_ok(firm) -> bool:
    with tenant_context(firm):
        return verify_chain().ok


def break_log(firm) -> None:
    """A real fault: a constraint no new entry can meet (rolled back with the test)."""
    with tenant_context(firm), connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE auditlog_accesslogentry ADD CONSTRAINT broken CHECK (false) NOT VALID"
        )


def membership(user, firm) -> Membership:
    return Membership.objects.select_related("user", "firm").get(user=user, firm=firm)


def by(user, role: str) -> Actor:
    return Actor(user_id=user.pk, email=user.email, role=role)


# --- roles and removals --------------------------------------------------------------------


def test_a_role_change_is_logged_with_who_whom_and_both_roles(acme, alice, harry):
    owner = signed_in_firm_client(alice, acme)
    owner.post(f"/members/{membership(harry, acme).pk}/role/", {"role": Role.VIEWER})
    assert membership(harry, acme).role == Role.VIEWER
    [entry] = entries(acme, "member_role")
    assert (entry.actor_user_id, entry.actor_email, entry.actor_role) == (
        alice.pk, alice.email, Role.OWNER,
    )  # fmt: skip
    assert entry.ip is not None and entry.request_id  # the request's own trace
    assert entry.detail == {
        "member": harry.email, "member_id": harry.pk, "old_role": Role.HANDLER,
        "new_role": Role.VIEWER,
    }  # fmt: skip
    assert chain_ok(acme)


def test_a_role_change_whose_entry_cannot_be_written_does_not_happen(acme, alice, harry):
    break_log(acme)
    with pytest.raises(AuditLogUnavailable):
        services.membership_change_role(
            actor=membership(alice, acme), membership=membership(harry, acme), role=Role.OWNER
        )
    assert membership(harry, acme).role == Role.HANDLER


def test_a_removal_is_logged_and_revokes_the_members_tokens(acme, alice, harry):
    token = api_token_create(firm=acme, user=harry, scopes=["read"], name="payroll")[0]
    owner = signed_in_firm_client(alice, acme)
    owner.post(f"/members/{membership(harry, acme).pk}/remove/")
    assert not Membership.objects.filter(user=harry, firm=acme).exists()
    [entry] = entries(acme, "member_remove")
    assert entry.actor_user_id == alice.pk and entry.actor_role == Role.OWNER
    assert entry.detail == {
        "member": harry.email, "member_id": harry.pk, "old_role": Role.HANDLER,
        "tokens_revoked": [token.pk],
    }  # fmt: skip
    assert chain_ok(acme)


def test_a_removal_whose_entry_cannot_be_written_does_not_happen(acme, alice, harry):
    api_token_create(firm=acme, user=harry, scopes=["read"], name="payroll")
    break_log(acme)
    with pytest.raises(AuditLogUnavailable):
        services.membership_remove(
            actor=membership(alice, acme), membership=membership(harry, acme)
        )
    assert membership(harry, acme).role == Role.HANDLER
    assert ApiToken.objects.get(user=harry).revoked_at is None


# --- invitations ----------------------------------------------------------------------------


def test_invitations_created_revoked_and_accepted_are_logged(
    acme, alice, django_capture_on_commit_callbacks
):
    owner = signed_in_firm_client(alice, acme)
    with django_capture_on_commit_callbacks(execute=True):
        owner.post("/members/", {"email": "bob@acme.test", "role": Role.HANDLER})
        owner.post("/members/", {"email": "dan@acme.test", "role": Role.VIEWER})
    bobs = Invitation.objects.get(email="bob@acme.test")
    dans = Invitation.objects.get(email="dan@acme.test")
    owner.post(f"/invitations/{dans.pk}/revoke/")
    assert not Invitation.objects.get(pk=dans.pk).is_open

    bob = make_user("bob@acme.test")
    raw = re.search(r"/invitations/([^/\s]+)/", mail.outbox[0].body)[1]
    assert signed_in_public_client(bob).post(f"/invitations/{raw}/").status_code == 302

    invited = entries(acme, "member_invite")
    assert [(e.actor_user_id, e.detail) for e in invited] == [
        (alice.pk, {"email": "bob@acme.test", "role": Role.HANDLER, "invitation_id": bobs.pk}),
        (alice.pk, {"email": "dan@acme.test", "role": Role.VIEWER, "invitation_id": dans.pk}),
    ]
    [revoked] = entries(acme, "invite_revoke")
    assert revoked.actor_user_id == alice.pk and revoked.detail == {
        "email": "dan@acme.test", "role": Role.VIEWER, "invitation_id": dans.pk,
    }  # fmt: skip
    [joined] = entries(acme, "member_add")
    assert (joined.actor_user_id, joined.actor_email, joined.actor_role) == (
        bob.pk, bob.email, Role.HANDLER,
    )  # fmt: skip
    assert joined.detail == {
        "member": bob.email, "member_id": bob.pk, "new_role": Role.HANDLER,
        "invitation_id": bobs.pk, "invited_by": alice.email,
    }  # fmt: skip
    assert chain_ok(acme)


def test_an_invitation_whose_entry_cannot_be_written_is_neither_stored_nor_sent(
    acme, alice, django_capture_on_commit_callbacks
):
    break_log(acme)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AuditLogUnavailable):
        services.invitation_create(actor=membership(alice, acme), email="bob@acme.test",
                                   role=Role.HANDLER)  # fmt: skip
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_revoking_or_accepting_an_invitation_without_its_entry_does_not_happen(
    acme, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            actor=membership(alice, acme), email="bob@acme.test", role=Role.HANDLER
        )
    raw = re.search(r"/invitations/([^/\s]+)/", mail.outbox[0].body)[1]
    bob = make_user("bob@acme.test")
    break_log(acme)
    with pytest.raises(AuditLogUnavailable):
        services.invitation_revoke(actor=membership(alice, acme), invitation=invitation)
    assert Invitation.objects.get(pk=invitation.pk).is_open
    with pytest.raises(AuditLogUnavailable):
        services.invitation_accept(raw_token=raw, user=bob)
    assert not Membership.objects.filter(user=bob).exists()
    assert Invitation.objects.get(pk=invitation.pk).is_open


# --- API tokens -----------------------------------------------------------------------------


def new_token_on_page(client, **fields) -> str:
    page = client.post(
        "/api-tokens/", {"name": "給与ソフト", "scopes": ["read", "reveal"], **fields}
    ).content.decode()
    found = re.search(r'id="new-token">([^<]+)<', page)
    return found[1] if found else ""


def test_an_owner_mints_tokens_in_their_own_name_only(acme, alice, harry):
    owner = signed_in_firm_client(alice, acme)
    response = owner.post(
        "/api-tokens/",
        {"name": "給与ソフト", "user": str(harry.pk), "scopes": ["read", "reveal"]},
    )
    assert response.status_code == 200
    assert "ご自身の名前でのみ発行できます" in response.content.decode()
    assert 'id="new-token"' not in response.content.decode()
    assert not ApiToken.objects.exists()
    [refused] = entries(acme, "token_create")
    assert refused.result == "denied" and refused.actor_user_id == alice.pk
    assert refused.detail == {"member": harry.email, "member_id": harry.pk}

    assert new_token_on_page(owner).startswith("mnc_")
    assert new_token_on_page(owner, user=str(alice.pk)).startswith("mnc_")
    assert set(ApiToken.objects.values_list("user_id", "created_by_id")) == {(alice.pk, alice.pk)}


def test_the_service_refuses_a_token_in_another_members_name(acme, alice, harry):
    with pytest.raises(PermissionDenied):
        api_token_create(firm=acme, user=harry, scopes=["reveal"], name="x",
                         actor=by(alice, Role.OWNER))  # fmt: skip
    assert not ApiToken.objects.exists()


def test_minting_and_revoking_a_token_are_logged(acme, alice):
    owner = signed_in_firm_client(alice, acme)
    assert new_token_on_page(owner).startswith("mnc_")
    token = ApiToken.objects.get()
    [created] = entries(acme, "token_create")
    assert (created.actor_user_id, created.actor_role, created.result) == (
        alice.pk, Role.OWNER, "allowed",
    )  # fmt: skip
    assert created.detail == {
        "token_id": token.pk, "prefix": token.prefix, "name": "給与ソフト",
        "scopes": ["read", "reveal"], "member": alice.email, "member_id": alice.pk,
    }  # fmt: skip
    owner.post(f"/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    [revoked] = entries(acme, "token_revoke")
    assert revoked.actor_user_id == alice.pk and revoked.detail == {
        "token_id": token.pk, "prefix": token.prefix, "member": alice.email,
        "member_id": alice.pk,
    }  # fmt: skip
    assert chain_ok(acme)


def test_a_token_whose_entry_cannot_be_written_is_neither_minted_nor_revoked(acme, alice):
    from accounts.api_tokens import api_token_revoke

    token = api_token_create(firm=acme, user=alice, scopes=["read"], name="old")[0]
    break_log(acme)
    with pytest.raises(AuditLogUnavailable):
        api_token_create(firm=acme, user=alice, scopes=["read"], name="new",
                         actor=by(alice, Role.OWNER))  # fmt: skip
    with pytest.raises(AuditLogUnavailable):
        api_token_revoke(token, actor=by(alice, Role.OWNER))
    assert list(ApiToken.objects.values_list("name", "revoked_at")) == [("old", None)]


def test_the_command_mints_only_for_the_named_member_and_logs_as_the_system(acme, harry):
    out = StringIO()
    call_command("create_api_token", tenant="acme", user="harry@acme.test", scopes="read",
                 stdout=out)  # fmt: skip
    token = ApiToken.objects.get()
    assert token.user == harry and token.created_by is None
    [entry] = entries(acme, "token_create")
    assert (entry.actor_user_id, entry.actor_email, entry.actor_role) == (
        None, "system:create-api-token", "system",
    )  # fmt: skip
    assert entry.detail["member"] == harry.email and entry.detail["member_id"] == harry.pk
    assert chain_ok(acme)


def test_the_command_refuses_a_deactivated_member_and_writes_nothing(acme, harry):
    harry.is_active = False
    harry.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="無効"):
        call_command("create_api_token", tenant="acme", user="harry@acme.test", scopes="read")
    assert not ApiToken.objects.exists()


def test_the_command_mints_nothing_when_its_entry_cannot_be_written(acme, harry):
    break_log(acme)
    with pytest.raises(AuditLogUnavailable):
        call_command("create_api_token", tenant="acme", user="harry@acme.test", scopes="read",
                     stdout=StringIO())  # fmt: skip
    assert not ApiToken.objects.exists()


# --- purposes of use ------------------------------------------------------------------------


def test_a_purpose_toggle_whose_entry_cannot_be_written_does_not_happen(acme, alice):
    with tenant_context(acme):
        purpose = Purpose.objects.get(code="withholding_slip")
    assert purpose.active
    owner = signed_in_firm_client(alice, acme)
    owner.raise_request_exception = False
    break_log(acme)
    response = owner.post(f"/purposes/{purpose.pk}/toggle/")
    assert response.status_code >= 500
    with tenant_context(acme):
        assert Purpose.objects.get(pk=purpose.pk).active


def test_purpose_changes_are_logged_with_the_change(acme, alice):
    with tenant_context(acme):
        purpose = Purpose.objects.get(code="withholding_slip")
    owner = signed_in_firm_client(alice, acme)
    owner.post(f"/purposes/{purpose.pk}/toggle/")
    with tenant_context(acme):
        assert not Purpose.objects.get(pk=purpose.pk).active
    [entry] = entries(acme, "permission")
    assert entry.actor_user_id == alice.pk
    assert entry.detail == {"purpose": "withholding_slip", "active": False}
    assert chain_ok(acme)
