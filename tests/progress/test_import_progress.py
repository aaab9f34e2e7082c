"""The CSV import runs in a Celery task: the confirmation returns at once, the page and its
JSON status show the stored progress (also after a reload), and the import ends with every
row or none. harry (handler) uploads; alice owns Acme; carol (accountant) may import but not
harry's file; vera (viewer) may not import; gina owns Globex and must never see Acme's job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.verification import verify_chain
from tenants.custody import importing
from tenants.custody.models import ImportUpload, MyNumberRecord, Person
from tenants.custody.mynumber import check_digit
from tests.helpers import signed_in_firm_client

from .helpers import confirm_import, eager_tasks

pytestmark = pytest.mark.django_db

HEADINGS = "kind,family_name,given_name,family_name_kana,given_name_kana,my_number"


def valid(i: int) -> str:
    body = f"{60_000_000_000 + i:011d}"
    return body + str(check_digit(body))


def people_csv(count: int) -> bytes:
    lines = [HEADINGS] + [f"employee,進捗,{i}郎,シンチョク,タロウ,{valid(i)}" for i in range(count)]
    return "\n".join(lines).encode()


def staged(client, count: int) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/people/import/", {"file": SimpleUploadedFile("p.csv", people_csv(count), "text/csv")}
    )
    assert response.status_code == 302, response.content.decode()[-800:]
    return response["Location"].rstrip("/").split("/")[-1]


def partway(firm, pk: str, *, done: int, total: int, seconds: float) -> None:
    """The row as the task leaves it partway: running, `done` of `total` rows, started
    `seconds` ago."""
    with tenant_context(firm):
        ImportUpload.objects.filter(pk=pk).update(
            status="running", progress_done=done, progress_total=total,
            queued_at=timezone.now() - timedelta(seconds=seconds + 1),
            started_at=timezone.now() - timedelta(seconds=seconds),
        )  # fmt: skip


def test_the_status_of_an_import_partway_done(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = staged(client, 3)
    partway(acme, pk, done=3_200, total=10_000, seconds=160)
    response = client.get(f"/people/import/{pk}/status/")
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    figures = response.json()
    assert {k: figures[k] for k in ("status", "done", "total", "percent")} == {
        "status": "running", "done": 3_200, "total": 10_000, "percent": 32}  # fmt: skip
    # 3,200 rows in 160 s: 6,800 more take 340 s (a little more as the test runs).
    assert 340 <= figures["eta_seconds"] <= 350 and figures["error"] == ""


def test_a_reload_mid_import_shows_the_stored_progress(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = staged(client, 3)
    partway(acme, pk, done=3_200, total=10_000, seconds=160)
    page = client.get(f"/people/import/{pk}/").content.decode()
    assert '<progress max="100" value="32"' in page
    assert "3,200 / 10,000 件・残り約 6 分" in page  # 340 s and a little more
    assert f'data-progress-url="/people/import/{pk}/status/"' in page
    # The text's templates come from the page (translated there), not from the script.
    assert 'data-progress-seconds="{done} / {total} 件・残り約 {eta} 秒"' in page
    assert "js/progress.js" in page
    assert 'value="confirm"' not in page  # nothing to confirm twice
    # A second reload: the same figures.
    assert '<progress max="100" value="32"' in client.get(f"/people/import/{pk}/").content.decode()


def test_another_firm_and_members_who_may_not_see_the_upload_get_404(
    acme, harry, alice, carol, vera, globex, gina
):
    pk = staged(signed_in_firm_client(harry, acme), 2)
    partway(acme, pk, done=1, total=2, seconds=1)
    path = f"/people/import/{pk}/status/"
    assert signed_in_firm_client(gina, globex).get(path).status_code == 404  # not in her firm
    assert signed_in_firm_client(carol, acme).get(path).status_code == 404  # not her upload
    assert signed_in_firm_client(vera, acme).get(path).status_code == 403  # may not import
    assert signed_in_firm_client(alice, acme).get(path).status_code == 200  # the owner may
    with tenant_context(acme):
        denied = AccessLogEntry.objects.filter(result="denied", action="import")
        assert {e.actor_email for e in denied} == {carol.email}
        refused = AccessLogEntry.objects.get(result="denied", action="people_write")
        assert refused.actor_email == vera.email


def test_the_import_runs_in_its_task_and_writes_every_row(acme, harry, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK", 4)  # several chunks, one transaction
    client = signed_in_firm_client(harry, acme)
    pk = staged(client, 10)
    with eager_tasks():
        response = client.post(f"/people/import/{pk}/", {"action": "confirm"})
        # The request only queued it: nothing written yet, the page shows the queue.
        assert response.status_code == 302 and response["Location"] == f"/people/import/{pk}/"
        with tenant_context(acme):
            upload = ImportUpload.objects.get(pk=pk)
            assert (upload.status, upload.progress_total) == ("queued", 10)
            assert not Person.objects.exists()
            assert upload.confirmed_by["email"] == harry.email
    page = client.get(f"/people/import/{pk}/").content.decode()
    assert "10人を登録しました" in page and "<progress" not in page
    assert client.get(f"/people/import/{pk}/status/").json() == {
        "status": "done", "done": 10, "total": 10, "percent": 100, "eta_seconds": None,
        "error": ""}  # fmt: skip
    with tenant_context(acme):
        assert Person.objects.count() == 10 and MyNumberRecord.objects.count() == 10
        creates = AccessLogEntry.objects.filter(action="create", actor_email=harry.email)
        assert creates.count() == 10 and verify_chain().ok
        upload = ImportUpload.objects.get(pk=pk)
        assert upload.started_at and upload.finished_at and bytes(upload.ciphertext) == b""


def test_a_failure_partway_writes_nothing(acme, harry, monkeypatch):
    """The third chunk fails after two were written (and reported): the whole import rolls
    back, the job is failed, and the page says nothing was registered."""
    monkeypatch.setattr(importing, "CHUNK", 3)
    written: list[int] = []
    real = importing._write_chunk

    def failing(*args, **kwargs):
        if len(written) == 2:
            raise RuntimeError("disk full")
        real(*args, **kwargs)
        written.append(1)

    monkeypatch.setattr(importing, "_write_chunk", failing)
    client = signed_in_firm_client(harry, acme)
    pk = staged(client, 10)
    confirm_import(client, pk)
    assert len(written) == 2
    with tenant_context(acme):
        assert not Person.objects.exists() and not MyNumberRecord.objects.exists()
        assert not AccessLogEntry.objects.filter(action="create").exists()
        upload = ImportUpload.objects.get(pk=pk)
        assert (upload.status, upload.error, upload.imported_at) == ("failed", "failed", None)
        assert bytes(upload.ciphertext) != b""  # still there: it may be confirmed again
    status = client.get(f"/people/import/{pk}/status/").json()
    assert status["status"] == "failed" and "何も登録していません" in status["error"]
    page = client.get(f"/people/import/{pk}/").content.decode()
    assert "何も登録していません" in page and 'value="confirm"' in page
    # Confirmed again, with the fault gone: every row.
    monkeypatch.setattr(importing, "_write_chunk", real)
    confirm_import(client, pk)
    with tenant_context(acme):
        assert Person.objects.count() == 10
        assert ImportUpload.objects.get(pk=pk).status == "done"


def test_an_interrupted_import_shows_as_failed_and_may_be_confirmed_again(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = staged(client, 2)
    partway(acme, pk, done=1, total=2, seconds=3600)  # its worker died an hour ago
    assert client.get(f"/people/import/{pk}/status/").json()["status"] == "failed"
    assert "中断されました" in client.get(f"/people/import/{pk}/").content.decode()
    confirm_import(client, pk)
    with tenant_context(acme):
        assert Person.objects.count() == 2
