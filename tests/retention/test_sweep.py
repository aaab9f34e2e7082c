"""The sweep deletes exactly what is due, records and logs each deletion once, never the
number; holds stop it; the approval mode proposes instead; a rerun or a killed run never
doubles or misses a deletion."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.test import TestCase
from django_tenants.utils import tenant_context

from accounts.models import Role
from tenants.auditlog.models import AccessLogEntry
from tenants.collection.models import Document, SubmittedNumber
from tenants.custody.errors import NotAllowed
from tenants.custody.models import MyNumberRecord, Person
from tenants.retention import services
from tenants.retention.models import DeletionProposal, DeletionRecord, ProposalStatus
from tenants.workspace.models import DeletionMode, FirmSettings
from tests import s3_server as s3_fixtures
from tests.collection.factories import handler_actor
from tests.helpers import make_firm

from .conftest import FAR_FUTURE, add_documents, number, person_with_number

pytestmark = pytest.mark.django_db
# The S3 fixtures, for this module (tests/s3_server.py).
s3_server = s3_fixtures.s3_server
s3_store = s3_fixtures.s3_store
LONG_AGO = date(2017, 6, 30)  # every rule's date has passed: due today already


def sweep(firm, **kwargs) -> services.SweepResult:
    with tenant_context(firm), TestCase.captureOnCommitCallbacks(execute=True):
        return services.retention_sweep(firm, **kwargs)


def records(firm) -> list[DeletionRecord]:
    with tenant_context(firm):
        return list(DeletionRecord.objects.order_by("person_id"))


def deletions_logged(firm) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(
            AccessLogEntry.objects.filter(action="delete", detail__retention=True).order_by("seq")
        )


def texts_of(firm) -> str:
    """Everything the records and the log hold, as text."""
    with tenant_context(firm):
        rows = list(DeletionRecord.objects.values()) + list(AccessLogEntry.objects.values())
    return repr(rows)


def test_the_sweep_deletes_exactly_what_is_due(acme, settings):
    due = person_with_number(acme, 1, ended=date(2020, 3, 31))  # due 2028-01-11
    with_documents = person_with_number(acme, 2, ended=date(2020, 3, 31))
    files = add_documents(acme, with_documents)
    later = person_with_number(acme, 3, ended=date(2035, 3, 31))  # due 2043
    active = person_with_number(acme, 4)

    result = sweep(acme, now=FAR_FUTURE)

    assert result.deleted == 2
    with tenant_context(acme):
        remaining = set(MyNumberRecord.objects.values_list("person_id", flat=True))
        assert remaining == {later.pk, active.pk}
        assert Person.objects.count() == 4  # the people stay; their numbers went
        assert not SubmittedNumber.objects.filter(person=with_documents).exists()
        gone = Document.objects.filter(pk__in=[d.pk for d in files])
        assert all(d.deleted_at is not None and d.storage_key == "" for d in gone)
    from tenants.collection import documents as stored_files

    for document in files:  # the files themselves are gone from storage
        with pytest.raises(Exception):  # noqa: B017 - ObjectMissing
            stored_files.load_document(acme, document.id, document.storage_key)

    made = records(acme)
    assert [r.person_id for r in made] == [due.pk, with_documents.pk]
    first, second = made
    assert first.person_name == "山田 太郎1" and first.data_types == ["my_number"]
    assert first.deleted_by == "system:retention-sweep" and first.trigger == "schedule"
    assert first.rule_code == "dependent_declaration" and first.due_on == date(2028, 1, 11)
    assert first.method == "erase" and first.ended_on == date(2020, 3, 31)
    assert second.data_types == ["my_number", "submitted_number", "documents"]
    assert second.documents_deleted == 2

    logged = deletions_logged(acme)
    assert [(e.person_id, e.actor_email, e.result) for e in logged] == [
        (due.pk, "system:retention-sweep", "allowed"),
        (with_documents.pk, "system:retention-sweep", "allowed"),
    ]
    assert logged[0].detail["rule"] == "dependent_declaration"
    assert logged[1].detail["data"] == ["my_number", "submitted_number", "documents"]
    text = texts_of(acme)
    for index in (1, 2, 3, 4):
        assert number(index) not in text


def test_a_second_run_deletes_and_records_nothing(acme):
    person_with_number(acme, 1, ended=LONG_AGO)
    assert sweep(acme).deleted == 1
    assert sweep(acme).deleted == 0
    assert len(records(acme)) == 1 and len(deletions_logged(acme)) == 1


def test_nothing_is_due_before_the_date(acme):
    person_with_number(acme, 1, ended=date(2025, 3, 31))  # due 2033-01-11
    from datetime import UTC, datetime

    # 2033-01-10 23:59 JST: still kept. 2033-01-11 00:00 JST: due.
    assert sweep(acme, now=datetime(2033, 1, 10, 14, 59, tzinfo=UTC)).deleted == 0
    assert sweep(acme, now=datetime(2033, 1, 10, 15, 0, tzinfo=UTC)).deleted == 1


def test_a_killed_sweep_finishes_on_the_rerun_without_doubles(acme, globex, monkeypatch):
    for index in range(3):
        person_with_number(acme, index, ended=LONG_AGO)
        person_with_number(globex, 10 + index, ended=LONG_AGO)
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    real_erase, calls = services._erase, []

    def dies_on_the_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # acme's two batches done; killed inside globex's first
            raise KeyboardInterrupt("killed")
        return real_erase(*args, **kwargs)

    monkeypatch.setattr(services, "_erase", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        call_command("retention_sweep")
    assert len(records(acme)) == 3 and records(globex) == []  # the batch in flight rolled back
    with tenant_context(globex):
        assert MyNumberRecord.objects.count() == 3

    monkeypatch.setattr(services, "_erase", real_erase)
    call_command("retention_sweep")
    call_command("retention_sweep", "--tenant", "globex")
    for firm in (acme, globex):
        made = records(firm)
        assert len(made) == 3 and len({r.person_id for r in made}) == 3
        assert len(deletions_logged(firm)) == 3
        with tenant_context(firm):
            assert MyNumberRecord.objects.count() == 0


def test_a_hold_stops_deletion_and_is_logged(acme, alice):
    held = person_with_number(acme, 1, ended=LONG_AGO)
    free = person_with_number(acme, 2, ended=LONG_AGO)
    owner = handler_actor(alice, role=Role.OWNER)
    with tenant_context(acme):
        hold = services.hold_place(actor=owner, person=held, reason="税務調査")
    result = sweep(acme)
    assert result.deleted == 1 and result.held == 1
    assert [r.person_id for r in records(acme)] == [free.pk]

    with tenant_context(acme):
        firm_hold = services.hold_place(actor=owner, person=None, reason="訴訟")
        services.hold_lift(actor=owner, hold=hold)
    assert sweep(acme).firm_held is True  # the firm's hold still stops everything
    with tenant_context(acme):
        assert MyNumberRecord.objects.filter(person=held).exists()
        services.hold_lift(actor=owner, hold=firm_hold)
    assert sweep(acme).deleted == 1

    with tenant_context(acme):
        events = list(
            AccessLogEntry.objects.filter(action="legal_hold")
            .order_by("seq")
            .values_list("person_id", "detail__event", "detail__scope", "actor_email")
        )
    assert events == [
        (held.pk, "placed", "person", "alice@acme.test"),
        (None, "placed", "firm", "alice@acme.test"),
        (held.pk, "lifted", "person", "alice@acme.test"),
        (None, "lifted", "firm", "alice@acme.test"),
    ]


def test_only_owners_place_holds(acme, harry):
    person = person_with_number(acme, 1, ended=LONG_AGO)
    with tenant_context(acme), pytest.raises(NotAllowed):
        services.hold_place(actor=handler_actor(harry), person=person, reason="x")
    with tenant_context(acme):
        assert not services.person_hold(person)
        denied = AccessLogEntry.objects.get(action="legal_hold")
        assert denied.result == "denied"


def test_approval_mode_proposes_and_an_owner_approves(acme, alice, vera):
    first = person_with_number(acme, 1, ended=LONG_AGO)
    second = person_with_number(acme, 2, ended=LONG_AGO)
    with tenant_context(acme):
        FirmSettings.objects.update(deletion_mode=DeletionMode.APPROVAL)
    assert sweep(acme).proposed == 2
    assert sweep(acme).proposed == 0  # one pending proposal per person
    assert records(acme) == []
    with tenant_context(acme):
        proposals = list(DeletionProposal.objects.order_by("person_id"))
        assert MyNumberRecord.objects.count() == 2
        with pytest.raises(NotAllowed):
            services.proposals_approve(
                actor=handler_actor(vera, role=Role.VIEWER), proposal_ids=[proposals[0].pk]
            )
        assert MyNumberRecord.objects.count() == 2  # the refusal deleted nothing
        with TestCase.captureOnCommitCallbacks(execute=True):
            done = services.proposals_approve(
                actor=handler_actor(alice, role=Role.OWNER), proposal_ids=[proposals[0].pk]
            )
        assert [r.person_id for r in done] == [first.pk]
        assert done[0].deleted_by == "alice@acme.test" and done[0].trigger == "approval"
        assert set(MyNumberRecord.objects.values_list("person_id", flat=True)) == {second.pk}
        statuses = dict(DeletionProposal.objects.values_list("person_id", "status"))
        assert statuses == {first.pk: ProposalStatus.APPROVED, second.pk: ProposalStatus.PENDING}
        assert AccessLogEntry.objects.filter(action="delete", result="denied").count() == 1


def test_a_new_end_date_recomputes_and_withdraws_a_proposal(acme):
    from tenants.custody import services as custody

    from .conftest import SEEDER

    person = person_with_number(acme, 1, ended=LONG_AGO)
    with tenant_context(acme):
        FirmSettings.objects.update(deletion_mode=DeletionMode.APPROVAL)
    sweep(acme)
    with tenant_context(acme):
        custody.person_update(actor=SEEDER, person=person, changes={"relationship_end": None})
    sweep(acme)
    with tenant_context(acme):
        assert DeletionProposal.objects.get().status == ProposalStatus.WITHDRAWN


def test_people_whose_date_was_never_computed_are_swept(acme):
    """A person created with an end date already set (no update) is found by the sweep."""
    from tenants.custody import services as custody

    from .conftest import SEEDER

    with tenant_context(acme):
        person = custody.person_create(actor=SEEDER, data={
            "kind": "payee", "family_name": "佐藤", "given_name": "一郎",
            "family_name_kana": "サトウ", "given_name_kana": "イチロウ",
            "relationship_end": LONG_AGO,
        })  # fmt: skip
        custody.number_set(actor=SEEDER, firm=acme, person=person, raw=number(7),
                           purpose_codes=None)  # fmt: skip
    result = sweep(acme)
    assert result.recomputed == 1 and result.deleted == 1
    assert records(acme)[0].rule_code in ("fee_payment_record", "real_estate_payment_record")


def test_another_firm_is_untouched(acme):
    globex = make_firm("globex")
    person_with_number(acme, 1, ended=LONG_AGO)
    theirs = person_with_number(globex, 2, ended=LONG_AGO)
    sweep(acme)
    with tenant_context(globex):
        assert MyNumberRecord.objects.filter(person=theirs).exists()
        assert not DeletionRecord.objects.exists()


def test_records_cannot_be_changed_or_removed(acme):
    from django.db import DatabaseError, transaction

    person_with_number(acme, 1, ended=LONG_AGO)
    sweep(acme)
    with tenant_context(acme):
        with pytest.raises(DatabaseError), transaction.atomic():
            DeletionRecord.objects.update(person_name="x")
        with pytest.raises(DatabaseError), transaction.atomic():
            DeletionRecord.objects.all().delete()
        assert DeletionRecord.objects.count() == 1


def test_the_sweep_leaves_no_version_of_a_document_in_a_versioned_bucket(acme, s3_store):
    person = person_with_number(acme, 7, ended=date(2020, 3, 31))
    add_documents(acme, person)
    assert len(s3_store.versions(f"{acme.schema_name}/documents/")) == 2
    assert sweep(acme, now=FAR_FUTURE).deleted == 1
    assert s3_store.versions() == []
