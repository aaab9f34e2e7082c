"""Asking to leave: owner only, confirmed with a fresh TOTP code; other firms never see it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import tenant_context

from billing.errors import BillingBlocked
from firms.models import Firm, OffboardingRecord
from firms.offboarding import OffboardingError, offboarding_request
from operators.models import OperatorLogEntry
from tenants.auditlog.services import Actor
from tenants.custody import services as custody
from tenants.custody.models import Person
from tests.helpers import firm_host, make_user, signed_in_firm_client, signed_in_public_client
from tests.keys.custody_helpers import seal_numbers

from .conftest import code_for, firm_log, membership, wrong_code


def _nothing_changed(firm: Firm) -> None:
    firm.refresh_from_db()
    assert firm.status == Firm.Status.ACTIVE
    assert not OffboardingRecord.objects.exists()
    assert not OperatorLogEntry.objects.filter(action="offboarding_request").exists()


def test_a_wrong_code_is_refused_and_changes_nothing(acme, alice):
    with pytest.raises(OffboardingError, match="確認コード"):
        offboarding_request(membership(alice, acme), include_numbers=False,
                            totp_code=wrong_code(alice))  # fmt: skip
    _nothing_changed(acme)
    [denied] = firm_log(acme, action="offboarding")
    assert denied.result == "denied" and denied.detail == {"event": "request", "reason": "mfa"}


def test_an_owner_without_totp_cannot_confirm(acme):
    passkey_only = make_user("pat@acme.test", firm=acme, role="owner", mfa=False)
    with pytest.raises(OffboardingError):
        offboarding_request(membership(passkey_only, acme), include_numbers=False,
                            totp_code="123456")  # fmt: skip
    _nothing_changed(acme)


@pytest.mark.parametrize("who", ["harry", "vera", "carol"])
def test_only_an_owner_may_ask(acme, alice, harry, vera, carol, who):
    user = {"harry": harry, "vera": vera, "carol": carol}[who]
    with pytest.raises(PermissionDenied):
        offboarding_request(membership(user, acme), include_numbers=True,
                            totp_code=code_for(user) if who != "vera" else "000000")  # fmt: skip
    _nothing_changed(acme)
    [denied] = firm_log(acme, action="offboarding")
    assert denied.result == "denied" and denied.actor_email == user.email


def test_the_request_logs_both_logs_and_the_numbers_choice(acme, alice):
    record = offboarding_request(membership(alice, acme), include_numbers=True,
                                 totp_code=code_for(alice))  # fmt: skip
    acme.refresh_from_db()
    assert acme.status == Firm.Status.OFFBOARDING
    assert record.stage == OffboardingRecord.Stage.REQUESTED
    assert record.owner_user_ids == [alice.pk]
    [entry] = firm_log(acme, action="offboarding")
    assert entry.result == "allowed" and entry.actor_email == alice.email
    assert entry.detail["event"] == "request" and entry.detail["include_numbers"] is True
    operator = OperatorLogEntry.objects.get(action="offboarding_request")
    assert operator.firm_slug == "acme" and operator.detail["include_numbers"] is True
    # Asked twice: refused.
    with pytest.raises(OffboardingError):
        offboarding_request(membership(alice, acme), include_numbers=False,
                            totp_code=code_for(alice))  # fmt: skip


def test_new_data_is_refused_but_reveal_and_export_still_work(acme, alice, harry):
    people = seal_numbers(acme, 2)
    offboarding_request(membership(alice, acme), include_numbers=False, totp_code=code_for(alice))
    acme.refresh_from_db()
    handler = Actor(user_id=harry.pk, email=harry.email, role="handler")
    with tenant_context(acme):
        with pytest.raises(BillingBlocked) as refused:
            custody.person_create(actor=handler, data={
                "kind": "employee", "family_name": "新規", "given_name": "花子",
                "family_name_kana": "シンキ", "given_name_kana": "ハナコ"})  # fmt: skip
        assert refused.value.code == "offboarding"
        assert "解約手続中" in str(refused.value.message)
        pk, number = next(iter(people.items()))
        person = Person.objects.select_related("my_number").get(pk=pk)
        assert custody.number_reveal(actor=handler, firm=acme, person=person,
                                     purpose_code="withholding_slip") == number  # fmt: skip
        rows = list(custody.numbers_export(actor=handler, firm=acme, person_ids=list(people),
                                           purpose_code="withholding_slip"))  # fmt: skip
        assert {row[4] for row in rows} == set(people.values())


def test_the_page_is_for_owners_and_asks_for_the_code(acme, alice, harry, gina):
    owner = signed_in_firm_client(alice, acme)
    page = owner.get("/offboarding/")
    assert page.status_code == 200
    assert "解約の流れ" in page.content.decode() and "totp_code" in page.content.decode()
    assert signed_in_firm_client(harry, acme).get("/offboarding/").status_code == 403
    wrong = owner.post("/offboarding/", {"understood": "on", "totp_code": wrong_code(alice)})
    assert wrong.status_code == 200 and "確認コードが正しくありません" in wrong.content.decode()
    acme.refresh_from_db()
    assert acme.status == Firm.Status.ACTIVE
    done = owner.post("/offboarding/", {"understood": "on", "totp_code": code_for(alice)})
    assert done.status_code == 302
    acme.refresh_from_db()
    assert acme.status == Firm.Status.OFFBOARDING


def test_another_firms_owner_gets_404(acme, alice, globex, gina):
    public = signed_in_public_client(gina)
    assert public.get("/go/acme/").status_code == 404
    # Her Globex session presented on Acme's host: the membership check refuses it.
    client = signed_in_firm_client(gina, globex)
    for path in ("/offboarding/", "/offboarding/archive/", "/offboarding/certificate.pdf"):
        assert client.get(path, HTTP_HOST=firm_host(acme)).status_code == 404
    assert client.post("/offboarding/confirm/", {"totp_code": code_for(gina)},
                       HTTP_HOST=firm_host(acme)).status_code == 404  # fmt: skip
    record = offboarding_request(membership(alice, acme), include_numbers=False,
                                 totp_code=code_for(alice))  # fmt: skip
    assert public.get(f"/offboarding/certificates/{record.pk}.pdf").status_code == 404
    assert "acme" not in public.get("/offboarding/certificates/").content.decode()
