"""A filing from upload to download (tenants.filings.workflow): the upload sealed with the
firm's keys, the review answered, the download refused until it is, one export entry per
person committed, the 24 hours and the deletion record, the person's copy stripped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from keys.envelope import clear_key_cache, destroy_firm_key
from keys.errors import KeyUnavailable
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, verify_chain
from tenants.custody.errors import NotAllowed
from tenants.custody.models import Person
from tenants.filings import workflow
from tenants.filings.errors import (
    ChoiceRefused,
    FilingGone,
    FilingNeedsReview,
    FilingRejected,
    ReasonRefused,
)
from tenants.filings.layouts import UNIFIED_R7
from tenants.filings.models import Filing
from tenants.filings.records import holds_numbers, parse, strip_numbers
from tests.filings.test_fill import handler, row, upload
from tests.filings.test_records import number

pytestmark = pytest.mark.django_db


def viewer(user) -> Actor:
    return Actor(user_id=user.pk, email=user.email, role="viewer", request_id="t")


def sample() -> bytes:
    return upload(
        row(
            "高橋 一郎", birth=("3", "62", "04", "01"), spouse="髙橋 美咲", dependants=("高橋 翔",)
        ),
        row("佐藤 花子", birth=("4", "02", "01", "02")),
        row("田中 三郎"),
    )


def test_an_upload_is_sealed_planned_and_logged_without_reading_a_number(acme, harry, staff):
    data = sample()
    with tenant_context(acme):
        filing = workflow.receive(actor=handler(harry), firm=acme, data=data)
        stored = Filing.objects.get(pk=filing.pk)
        entry = AccessLogEntry.objects.get(action="filing_upload")
        # Planning reads no number: nothing was exported yet.
        assert not AccessLogEntry.objects.filter(action="export").exists()
    # Sealed: not a name of the file in the stored bytes, and every summary figure right.
    assert "高橋".encode("cp932") not in bytes(stored.ciphertext)
    assert b"375," not in bytes(stored.ciphertext)
    assert (stored.layout_code, stored.edition, stored.row_count) == ("375", "令和7年分", 3)
    assert (stored.fill_count, stored.people_count, stored.pending_count) == (3, 3, 2)
    assert stored.status == Filing.Status.REVIEW
    assert abs(stored.expires_at - stored.created_at - timedelta(hours=24)).total_seconds() < 5
    assert entry.detail["filing"] == str(filing.pk) and entry.detail["format"] == "375"


def test_the_download_waits_for_the_review_then_logs_each_person_before_the_bytes(
    acme, harry, staff
):
    data = sample()
    actor = handler(harry)
    with tenant_context(acme):
        filing = workflow.receive(actor=actor, firm=acme, data=data)
        with pytest.raises(FilingNeedsReview):
            workflow.download(actor=actor, firm=acme, filing=filing)
        assert not AccessLogEntry.objects.filter(action="export").exists()
        sato = Person.objects.filter(family_name="佐藤").first()
        workflow.choose(actor=actor, firm=acme, filing=filing, row=2, field=95, person_id=sato.pk)
        # 佐藤 was picked but holds no number: the plan asks again, and only a blank with a
        # reason answers that.
        again = Filing.objects.get(pk=filing.pk)
        assert [(i["row"], i["reason"]) for i in again.review] == [(2, "no_number"), (3, "nobody")]
        with pytest.raises(ChoiceRefused):
            workflow.choose(actor=actor, firm=acme, filing=again, row=2, field=95,
                            person_id=staff["ichiro"].pk)  # fmt: skip
        for answered in (2, 3):
            workflow.choose(actor=actor, firm=acme, filing=again, row=answered, field=95,
                            reason="番号の提供を受けていない")  # fmt: skip
        assert Filing.objects.get(pk=filing.pk).status == Filing.Status.READY
        filing.refresh_from_db()
        name, filled = workflow.download(actor=actor, firm=acme, filing=filing)
        exports = AccessLogEntry.objects.filter(action="export")
        assert exports.count() == 3  # 髙橋 一郎, his spouse and child: 佐藤 has no number
        assert {e.purpose for e in exports} == {"withholding_slip"}
        assert {e.detail["digest"] for e in exports} == {filing.digest}
        reviews = AccessLogEntry.objects.filter(action="filing_review").order_by("seq")
        assert [r.detail["choice"] for r in reviews] == ["person", "blank", "blank"]
        assert reviews[0].person_id == sato.pk
        assert verify_chain().ok
    assert name.startswith("375_") and name.endswith("_filled.csv")
    result = parse(filled)
    assert result.records[0].text(95, "cp932") == number(1)
    assert strip_numbers(result) == data


def test_a_picked_person_learns_the_rows_code_for_next_year(acme, harry, staff):
    cells = [""] * UNIFIED_R7.field_count
    cells[0], cells[13], cells[136], cells[137], cells[-1] = "315", "高橋 一郎様", "", "A-17", "1"
    data = (",".join(cells) + "\r\n").encode("cp932")
    actor = handler(harry)
    with tenant_context(acme):
        filing = workflow.receive(actor=actor, firm=acme, data=data)
        assert [item["reason"] for item in filing.review] == ["nobody"]
        ichiro = staff["ichiro"]
        workflow.choose(actor=actor, firm=acme, filing=filing, row=1, field=95,
                        person_id=ichiro.pk)  # fmt: skip
        ichiro.refresh_from_db()
        assert ichiro.code == "A-17"
        # Next year's file with the same code finds him with no question asked.
        again = workflow.receive(actor=actor, firm=acme, data=data)
        assert again.review == [] and again.fill_count == 1


def test_answers_that_do_not_fit_are_refused_and_change_nothing(acme, harry, staff):
    actor = handler(harry)
    with tenant_context(acme):
        filing = workflow.receive(actor=actor, firm=acme, data=sample())
        for answer, error in (
            ({"row": 1, "field": 95, "person_id": staff["jiro"].pk}, ChoiceRefused),  # no item
            ({"row": 2, "field": 95, "person_id": staff["spouse"].pk}, ChoiceRefused),
            ({"row": 3, "field": 95, "reason": "   "}, ReasonRefused),
            ({"row": 3, "field": 95, "reason": "番号は" + number(1)}, ReasonRefused),
            ({"row": 3, "field": 95, "reason": "x" * 201}, ReasonRefused),
            ({"row": 3, "field": 95, "reason": "退職\x00者"}, ReasonRefused),  # NUL: unstorable
        ):
            with pytest.raises(error):
                workflow.choose(actor=actor, firm=acme, filing=filing, **answer)
        assert Filing.objects.get(pk=filing.pk).choices == {}
        assert not AccessLogEntry.objects.filter(action="filing_review").exists()


def test_roles_that_may_not_export_may_not_prepare_or_download(acme, harry, vera, staff):
    with tenant_context(acme):
        filing = workflow.receive(actor=handler(harry), firm=acme, data=sample())
        with pytest.raises(NotAllowed):
            workflow.receive(actor=viewer(vera), firm=acme, data=sample())
        with pytest.raises(NotAllowed):
            workflow.download(actor=viewer(vera), firm=acme, filing=filing)
        with pytest.raises(NotAllowed):
            workflow.get(actor=viewer(vera), filing_id=filing.pk)
        assert AccessLogEntry.objects.filter(result="denied").count() == 3


def test_after_24_hours_the_sealed_copy_is_deleted_and_the_row_stays_as_the_record(
    acme, harry, staff
):
    actor = handler(harry)
    with tenant_context(acme):
        filing = workflow.receive(actor=actor, firm=acme, data=sample())
        kept = workflow.receive(actor=actor, firm=acme, data=sample())
        Filing.objects.filter(pk=filing.pk).update(expires_at=timezone.now() - timedelta(1))
        assert workflow.purge_expired(acme) == 1
        gone = Filing.objects.get(pk=filing.pk)
        assert bytes(gone.ciphertext) == b"" and gone.status == Filing.Status.DELETED
        assert gone.deletion == Filing.Deletion.EXPIRED and gone.deleted_at is not None
        assert gone.deleted_by == "system:filings-purge"
        with pytest.raises(FilingGone):
            workflow.download(actor=actor, firm=acme, filing=gone)
        entry = AccessLogEntry.objects.get(action="filing_delete")
        assert entry.detail["filing"] == str(filing.pk)
        # Deleted by hand, the same record with who did it.
        workflow.delete(actor=actor, filing=kept)
        kept.refresh_from_db()
        assert kept.deletion == Filing.Deletion.BY_USER and kept.deleted_by == harry.email
        assert bytes(kept.ciphertext) == b""


def test_an_expired_filing_looked_at_is_deleted_there_and_then(acme, harry, staff):
    actor = handler(harry)
    with tenant_context(acme):
        filing = workflow.receive(actor=actor, firm=acme, data=sample())
        Filing.objects.filter(pk=filing.pk).update(expires_at=timezone.now())
        assert workflow.get(actor=actor, filing_id=filing.pk).status == Filing.Status.DELETED


def test_destroying_the_firms_key_destroys_the_sealed_upload(acme, harry, staff):
    actor = handler(harry)
    with tenant_context(acme):
        filing = workflow.receive(actor=actor, firm=acme, data=sample())
    destroy_firm_key(acme)
    clear_key_cache()
    with tenant_context(acme), pytest.raises(KeyUnavailable):
        workflow.replan(firm=acme, filing=Filing.objects.get(pk=filing.pk))


def test_a_file_that_is_no_layout_is_refused_logged_and_not_kept(acme, harry, staff):
    with tenant_context(acme):
        with pytest.raises(FilingRejected) as refused:
            workflow.receive(actor=handler(harry), firm=acme, data=b"name,number\r\nx,y\r\n")
        assert refused.value.row == 1
        assert not Filing.objects.exists()
        entry = AccessLogEntry.objects.get(action="filing_upload")
        assert entry.detail["rejected"] == "FilingRejected"


def test_strip_empties_every_number_and_says_how_many_there_were(acme, harry, vera, staff):
    data = upload(row("高橋 一郎", person_number=number(1), spouse="髙橋 美咲"))
    with tenant_context(acme):
        stripped = workflow.strip(actor=handler(harry), data=data)
        with pytest.raises(NotAllowed):
            workflow.strip(actor=viewer(vera), data=data)
        entry = AccessLogEntry.objects.get(action="filing_strip", result="allowed")
    assert stripped.removed == 1 and holds_numbers(parse(stripped.data)) == []
    assert number(1).encode() not in stripped.data
    assert entry.detail == {"format": "375", "removed": 1}


def test_the_scheduled_purge_runs_in_the_firms_schema(acme, harry, staff):
    from tenants.filings.tasks import purge_firm

    with tenant_context(acme):
        filing = workflow.receive(actor=handler(harry), firm=acme, data=sample())
        Filing.objects.filter(pk=filing.pk).update(expires_at=timezone.now())
        assert purge_firm.run(acme.schema_name) == 1
        assert Filing.objects.get(pk=filing.pk).status == Filing.Status.DELETED
    with pytest.raises(RuntimeError):
        purge_firm.run(acme.schema_name)  # outside the firm's schema: refused


def test_a_code_that_could_be_a_number_is_never_remembered(acme, harry, staff):
    cells = [""] * UNIFIED_R7.field_count
    cells[0], cells[13], cells[137], cells[-1] = "315", "高橋 一郎様", number(5), "1"
    data = (",".join(cells) + "\r\n").encode("cp932")
    actor = handler(harry)
    with tenant_context(acme):
        filing = workflow.receive(actor=actor, firm=acme, data=data)
        workflow.choose(actor=actor, firm=acme, filing=filing, row=1, field=95,
                        person_id=staff["ichiro"].pk)  # fmt: skip
        staff["ichiro"].refresh_from_db()
        entry = AccessLogEntry.objects.get(action="filing_review")
    assert staff["ichiro"].code == ""
    assert entry.detail["code_remembered"] is False
    assert number(5) not in str(entry.detail)


def test_a_tampered_number_refuses_the_download_and_is_logged_against_its_person(
    acme, harry, staff
):
    from tenants.custody.errors import IntegrityFailure
    from tenants.custody.models import MyNumberRecord

    actor = handler(harry)
    data = upload(row("高橋 一郎", birth=("3", "62", "04", "01"), spouse="髙橋 美咲"))
    with tenant_context(acme):
        filing = workflow.receive(actor=actor, firm=acme, data=data)
        # The spouse's ciphertext swapped into 一郎's record: it no longer authenticates.
        spouse = MyNumberRecord.objects.get(person=staff["spouse"])
        MyNumberRecord.objects.filter(person=staff["ichiro"]).update(ciphertext=spouse.ciphertext)
        with pytest.raises(IntegrityFailure):
            workflow.download(actor=actor, firm=acme, filing=filing)
        denied = AccessLogEntry.objects.get(action="export", result="denied")
        assert denied.person_id == staff["ichiro"].pk
        assert not AccessLogEntry.objects.filter(action="export", result="allowed").exists()
