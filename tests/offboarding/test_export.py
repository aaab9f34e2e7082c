"""The final export: one zip the owner downloads, numbers only when chosen (then one log entry
per person), deletion records, and the full access log that verifies offline."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django_tenants.utils import tenant_context

from firms.models import OffboardingRecord
from firms.offboarding import MASKED, offboarding_export, offboarding_request, offboarding_sweep
from infra.audit.verify_audit_export import verify
from objectstore import object_store
from tenants.retention.models import DeletionRecord
from tests.helpers import signed_in_firm_client
from tests.keys.custody_helpers import seal_numbers

from .conftest import code_for, firm_log, membership, unzip


def _people(files: dict[str, bytes]) -> list[dict[str, str]]:
    text = files["people.csv"].decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _offboard(firm, owner, *, include_numbers: bool) -> OffboardingRecord:
    record = offboarding_request(membership(owner, firm), include_numbers=include_numbers,
                                 totp_code=code_for(owner))  # fmt: skip
    return offboarding_export(record)


def _record_a_deletion(firm) -> None:
    from django.utils import timezone

    with tenant_context(firm):
        DeletionRecord.objects.create(
            person_id=999, person_name="退職 太郎", person_kind="employee",
            data_types=["my_number"], deleted_at=timezone.now(),
            deleted_by="system:retention-sweep", trigger="schedule", method="erase",
        )  # fmt: skip


def test_without_numbers_the_archive_is_masked_and_no_number_is_logged(acme, alice):
    people = seal_numbers(acme, 3)
    with tenant_context(acme):
        from tenants.custody.models import Person

        Person.objects.filter(pk=min(people)).update(code="E-001", language="vi")
    _record_a_deletion(acme)
    record = _offboard(acme, alice, include_numbers=False)
    assert record.stage == OffboardingRecord.Stage.EXPORTED
    assert (record.people_count, record.numbers_exported, record.deletion_records_count) == (
        3, 0, 1)  # fmt: skip
    response = signed_in_firm_client(alice, acme).get("/offboarding/archive/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    files = unzip(b"".join(response.streaming_content))
    assert set(files) == {"README.txt", "people.csv", "deletion_records.csv",
                          "access_log.jsonl", "manifest.json"}  # fmt: skip
    rows = _people(files)
    assert {row["my_number"] for row in rows} == {MASKED}
    assert sorted(row["code"] for row in rows) == ["", "", "E-001"]  # the firm's own codes
    assert sorted(row["language"] for row in rows) == ["", "", "vi"]  # the people's languages
    blob = b"".join(files.values())
    assert not any(number.encode() in blob for number in people.values())
    assert "退職 太郎" in files["deletion_records.csv"].decode("utf-8-sig")
    assert firm_log(acme, action="export") == []
    report = verify(files["access_log.jsonl"])
    assert report.firms == ["acme"] and report.entries == record.log_entries
    [export_event] = [
        e for e in firm_log(acme, action="offboarding") if e.detail["event"] == "export"
    ]
    assert export_event.detail["include_numbers"] is False
    manifest = json.loads(files["manifest.json"])
    assert manifest["counts"]["people"] == 3 and manifest["include_numbers"] is False
    # The download itself is on the firm's record.
    assert [e.detail["event"] for e in firm_log(acme, action="offboarding")][
        -1
    ] == "archive_download"


def test_with_numbers_each_number_is_logged_once_per_person(acme, alice):
    people = seal_numbers(acme, 4)
    record = _offboard(acme, alice, include_numbers=True)
    assert record.numbers_exported == 4
    response = signed_in_firm_client(alice, acme).get("/offboarding/archive/")
    files = unzip(b"".join(response.streaming_content))
    rows = _people(files)
    assert {int(row["person_id"]): row["my_number"] for row in rows} == people
    exports = firm_log(acme, action="export")
    assert sorted(e.person_id for e in exports) == sorted(people)
    assert all(e.actor_email == alice.email and e.detail == {"offboarding": True} for e in exports)
    # The archive's log holds those entries and verifies offline.
    log_lines = [json.loads(line) for line in files["access_log.jsonl"].splitlines()]
    logged = {line["person_id"] for line in log_lines if line.get("action") == "export"}
    assert logged == set(people)
    assert verify(files["access_log.jsonl"]).entries == record.log_entries


def test_the_archive_rests_encrypted_and_only_owners_download_it(acme, alice, harry):
    seal_numbers(acme, 1)
    record = _offboard(acme, alice, include_numbers=True)
    stored = object_store().get(record.archive_key)
    assert b"people.csv" not in stored and stored[:2] != b"PK"
    assert signed_in_firm_client(harry, acme).get("/offboarding/archive/").status_code == 403
    record.refresh_from_db()
    assert record.archive_downloaded_at is None


def test_the_sweep_makes_an_export_whose_task_never_ran(acme, alice):
    seal_numbers(acme, 1)
    offboarding_request(membership(alice, acme), include_numbers=False, totp_code=code_for(alice))
    result = offboarding_sweep()
    assert result.exported == ["acme"]
    assert OffboardingRecord.objects.get().stage == OffboardingRecord.Stage.EXPORTED
    again = offboarding_sweep()
    assert again.exported == [] and again.failed == []
    events = [e.detail["event"] for e in firm_log(acme, action="offboarding")]
    assert events.count("export") == 1


@pytest.mark.parametrize("include_numbers", [False, True])
def test_the_owner_page_shows_progress_and_the_download(acme, alice, include_numbers):
    seal_numbers(acme, 1)
    _offboard(acme, alice, include_numbers=include_numbers)
    page = signed_in_firm_client(alice, acme).get("/offboarding/").content.decode()
    assert "/offboarding/archive/" in page and "最終エクスポートのダウンロード待ち" in page


def test_the_command_runs_the_sweep(acme, alice):
    from io import StringIO

    from django.core.management import call_command

    offboarding_request(membership(alice, acme), include_numbers=False, totp_code=code_for(alice))
    out = StringIO()
    call_command("offboard_sweep", stdout=out)
    assert "acme: exported" in out.getvalue()
    assert out.getvalue().rstrip().endswith("failed 0")
