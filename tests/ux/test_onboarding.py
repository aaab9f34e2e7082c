"""The first-run checklist: each step ticks off as the firm gets there, and the list folds
into a one-line note once all four are done. Only the owner sees it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from accounts.models import Role
from tenants.auditlog.models import AccessLogEntry
from tenants.collection.models import CollectionRequest
from tenants.custody import services as custody
from tenants.workspace.models import FirmSettings
from tenants.workspace.onboarding import (
    DONE,
    INVITED,
    TODO,
    SetupFacts,
    onboarding_from,
    onboarding_status,
)
from tests.collection.factories import handler_actor, issue, make_person
from tests.helpers import make_user, signed_in_firm_client, signed_in_public_client

from .pages import fragment, text

pytestmark = pytest.mark.django_db

NOTHING = SetupFacts(
    purposes_confirmed_at=None,
    handlers=0,
    handler_invitations_open=0,
    requests=0,
    people=0,
    numbers=0,
    numbers_of_people=0,
    numbers_deleted=0,
)
AT = datetime(2026, 4, 1, tzinfo=UTC)


def states(facts: SetupFacts) -> dict[str, str]:
    return {step.key: step.state for step in onboarding_from(facts).steps}


# --- the rules (no database) --------------------------------------------------------------


def test_a_new_firm_has_four_steps_to_do_and_starts_at_the_purposes():
    onboarding = onboarding_from(NOTHING)
    assert [s.key for s in onboarding.steps] == ["purposes", "handler", "ask", "arrive"]
    assert set(states(NOTHING).values()) == {TODO}
    assert onboarding.current is not None and onboarding.current.key == "purposes"
    assert onboarding.done_count == 0 and not onboarding.complete
    assert [s.url for s in onboarding.steps] == ["/purposes/", "/members/", "/people/",
                                                 "/collection/"]  # fmt: skip


def test_each_step_ticks_on_its_own_fact():
    assert states(NOTHING.__class__(**{**NOTHING.__dict__, "purposes_confirmed_at": AT})) == {
        "purposes": DONE, "handler": TODO, "ask": TODO, "arrive": TODO,
    }  # fmt: skip
    invited = SetupFacts(**{**NOTHING.__dict__, "handler_invitations_open": 1})
    assert states(invited)["handler"] == INVITED
    named = SetupFacts(**{**NOTHING.__dict__, "handlers": 2, "handler_invitations_open": 1})
    assert states(named)["handler"] == DONE
    assert "2名" in onboarding_from(named).steps[1].detail
    asked = SetupFacts(**{**NOTHING.__dict__, "requests": 1})
    added = SetupFacts(**{**NOTHING.__dict__, "people": 3})
    assert states(asked)["ask"] == DONE and states(added)["ask"] == DONE
    # With people on record, the step's link goes straight to asking them.
    assert onboarding_from(added).steps[2].url == "/collection/new/"


def test_numbers_arriving_shows_progress_and_deleted_numbers_still_count():
    arriving = SetupFacts(**{**NOTHING.__dict__, "people": 4, "numbers": 1,
                             "numbers_of_people": 1})  # fmt: skip
    step = onboarding_from(arriving).steps[3]
    assert step.state == DONE
    assert "4名のうち、1名" in step.detail
    assert 'class="mini-bar"' in step.bar and 'width="25"' in step.bar
    # Every number went on schedule: the firm has still been through this step.
    deleted = SetupFacts(**{**NOTHING.__dict__, "numbers_deleted": 2})
    assert states(deleted)["arrive"] == DONE


def test_complete_when_all_four_are_done():
    facts = SetupFacts(AT, 1, 0, 1, 1, 1, 1, 0)
    onboarding = onboarding_from(facts)
    assert onboarding.complete and onboarding.current is None and onboarding.done_count == 4


# --- the dashboard as the firm progresses ---------------------------------------------------


def checklist(client) -> str:
    page = client.get("/").content.decode()
    if 'id="onboarding"' not in page:
        return ""
    return fragment(page, "onboarding", "section")


def step_text(section: str, key: str) -> str:
    return text(fragment(section, f"step-{key}", "li"))


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    def post(client, email: str, role: str) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/members/", {"email": email, "role": role})
        assert response.status_code == 302
        return re.search(r"/invitations/([^/\s]+)/", mail.outbox[-1].body)[1]

    return post


def test_the_owner_is_led_through_the_four_steps(acme, alice, invite):
    owner = signed_in_firm_client(alice, acme)
    section = checklist(owner)
    assert "4つのうち0つ完了" in text(section)
    assert 'aria-current="step"' in fragment(section, "step-purposes", "li")
    assert "未完了" in step_text(section, "purposes")
    assert 'href="/purposes/"' in section

    # 1. The purposes page offers the confirmation; confirming ticks step 1 and is logged.
    purposes = owner.get("/purposes/").content.decode()
    assert 'action="/setup/purposes/confirm/"' in purposes
    response = owner.post("/setup/purposes/confirm/", follow=True)
    assert "利用目的を確定しました。" in response.content.decode()
    section = checklist(owner)
    assert "完了" in step_text(section, "purposes") and "4つのうち1つ完了" in text(section)
    assert 'aria-current="step"' in fragment(section, "step-handler", "li")
    with tenant_context(acme):
        entry = AccessLogEntry.objects.get(action="permission")
        assert entry.detail["event"] == "purposes_confirmed"
        assert entry.actor_email == alice.email and "withholding_slip" in str(entry.detail)

    # 2. An invitation to a handler shows as invited; accepting it ticks the step.
    token = invite(owner, "hana@acme.test", Role.HANDLER)
    assert "招待済み" in step_text(checklist(owner), "handler")
    hana = make_user("hana@acme.test")
    assert signed_in_public_client(hana).post(f"/invitations/{token}/").status_code == 302
    section = checklist(owner)
    assert "完了" in step_text(section, "handler") and "事務取扱担当者が1名います" in text(section)

    # 3. A person added ticks "ask"; 4. waits for a number, with the progress beside it.
    person = make_person(acme)
    section = checklist(owner)
    assert "完了" in step_text(section, "ask")
    assert "在籍・契約中の1名のうち、0名" in step_text(section, "arrive")
    assert "未完了" in step_text(section, "arrive")
    with tenant_context(acme):
        custody.number_set(actor=handler_actor(alice, "owner"), firm=acme, person=person,
                           raw="123456789018", purpose_codes=None)  # fmt: skip

    # All four done: the checklist folds into a short note.
    page = owner.get("/").content.decode()
    assert 'id="onboarding"' not in page
    assert "初期設定はすべて完了しています。" in text(fragment(page, "setup-complete", "p"))


def test_a_request_sent_ticks_the_third_step(acme, alice, harry):
    person = make_person(acme)
    issue(acme, harry, person)
    with tenant_context(acme):
        assert CollectionRequest.objects.count() == 1
        status = onboarding_status(acme)
    assert status.steps[2].done and "提出の依頼を1件作成しました。" in status.steps[2].detail
    # Harry is a handler: that step is done too.
    assert status.steps[1].done


def test_only_the_owner_sees_the_checklist_or_confirms_purposes(acme, alice, harry, vera):
    for user in (harry, vera):
        client = signed_in_firm_client(user, acme)
        page = client.get("/").content.decode()
        assert 'id="onboarding"' not in page and 'id="setup-complete"' not in page
        assert client.post("/setup/purposes/confirm/").status_code == 403
        assert 'action="/setup/purposes/confirm/"' not in client.get("/purposes/").content.decode()
    with tenant_context(acme):
        assert FirmSettings.current().purposes_confirmed_at is None
        assert not AccessLogEntry.objects.filter(action="permission").exists()
    owner = signed_in_firm_client(alice, acme)
    assert owner.get("/setup/purposes/confirm/").status_code == 405
