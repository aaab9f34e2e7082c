"""Faults: the database connection is lost in the middle of a CSV import.

A real fault: while the import writes its rows (in chunks, COPY table by table, all in one
transaction: tenants.custody.importing), a second connection ends the importing backend with
pg_terminate_backend, as an operator, a failover or a dropped network would. The hook only
chooses *when*: in the second chunk, after some of its number rows went over the wire.

The import runs where the Celery task runs it (`csv_import.run_import`, in the firm's
schema); the web page queues it and shows its state. Nothing of the import may be stored,
the upload must say clearly that it failed and that nothing was registered, and the same
"register" button must work again.
"""

from __future__ import annotations

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection
from django_tenants.utils import tenant_context

from accounts.models import Role
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.verification import verify_chain
from tenants.custody import csv_import, importing
from tenants.custody.models import ImportUpload, MyNumberRecord, Person
from tenants.custody.mynumber import check_digit
from tests.helpers import database_url, make_firm, make_user, signed_in_firm_client

# Committed for real: the terminated backend takes its transaction with it, so the test's
# own data must not live in a transaction of that same connection.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.trust]
ROWS = 40
CHUNK = 10
HEADER = "区分,姓,名,姓（カナ）,名（カナ）,個人番号,利用目的"
NOTHING_REGISTERED = "何も登録していません"


def number(i: int) -> str:
    body = f"{41_000_000_000 + i:011d}"
    return body + str(check_digit(body))


def csv_file() -> bytes:
    lines = [HEADER] + [
        f"従業員,山田,{i}郎,ヤマダ,タロウ,{number(i)},withholding_slip" for i in range(ROWS)
    ]
    return "\n".join(lines).encode("utf-8")


def terminate(pid: int) -> None:
    with psycopg.connect(database_url(), autocommit=True) as other:
        ended = other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()
    assert ended == (True,)


@pytest.fixture
def queued(monkeypatch):
    """Confirmations queue the import here instead of on the shared broker; the test runs
    the task's body itself."""
    sent: list[str] = []
    monkeypatch.setattr(csv_import, "_enqueue", lambda schema, upload_id: sent.append(upload_id))
    monkeypatch.setattr(importing, "CHUNK", CHUNK)
    return sent


@pytest.fixture
def cut_in_the_second_chunk(monkeypatch):
    """Terminate the importing backend halfway through the second chunk's number rows."""
    real_copy = importing._copy
    seen: list[object] = []
    cuts: list[int] = []

    def copy(model, columns, rows):
        if model is MyNumberRecord:
            seen.append(model)
        if model is not MyNumberRecord or len(seen) != 2 or cuts:
            return real_copy(model, columns, rows)
        pid = connection.connection.info.backend_pid

        def rows_then_cut():
            for index, row in enumerate(rows):
                if index == CHUNK // 2:
                    terminate(pid)
                    cuts.append(pid)
                yield row

        return real_copy(model, columns, rows_then_cut())

    monkeypatch.setattr(importing, "_copy", copy)
    return cuts


def run_task(firm, upload_id):
    """What the worker does for custody.import_upload: the body, in the firm's schema."""
    with tenant_context(firm):
        try:
            return csv_import.run_import(upload_id)
        finally:
            connection.close()  # a worker's connection does not outlive a failed task


def test_a_lost_database_connection_mid_import_stores_nothing_and_the_upload_can_be_retried(
    queued, cut_in_the_second_chunk
):
    firm = make_firm("dbcut")
    harry = make_user("harry@dbcut.test", firm=firm, role=Role.HANDLER)
    client = signed_in_firm_client(harry, firm)
    uploaded = client.post(
        "/people/import/", {"file": SimpleUploadedFile("people.csv", csv_file(), "text/csv")}
    )
    assert uploaded.status_code == 302, uploaded.content.decode()[-800:]
    preview = uploaded["Location"]
    assert client.get(preview).status_code == 200  # the check the confirmation relies on
    assert client.post(preview, {"action": "confirm"}).status_code == 302
    [upload_id] = queued

    # The task fails, as the worker reports it (COPY goes through psycopg's own cursor, so
    # its error is psycopg's rather than Django's wrapper of it).
    with pytest.raises((DatabaseError, psycopg.Error)):
        run_task(firm, upload_id)
    assert cut_in_the_second_chunk, "the hook never ran: the import did not reach chunk 2"

    with tenant_context(firm):
        assert Person.objects.count() == 0
        assert MyNumberRecord.objects.count() == 0
        assert not AccessLogEntry.objects.filter(action="create").exists()
        staged = ImportUpload.objects.get(pk=upload_id)
        assert staged.imported_at is None and len(bytes(staged.ciphertext)) > 0
        # Failed, with a reason, now: not "running" until someone gives up on it.
        assert csv_import.import_state(staged) == ImportUpload.Status.FAILED
        assert NOTHING_REGISTERED in csv_import.failure_message(staged)
        assert verify_chain().ok
    status = client.get(f"{preview}status/").json()
    assert status["status"] == "failed" and NOTHING_REGISTERED in status["error"]
    page = client.get(preview).content.decode()
    assert NOTHING_REGISTERED in page and 'value="confirm"' in page
    assert number(0) not in page

    # The same button again, the database back: every row, once.
    assert client.post(preview, {"action": "confirm"}).status_code == 302
    assert queued == [upload_id, upload_id]
    done = run_task(firm, upload_id)
    assert done is not None and done.status == ImportUpload.Status.DONE
    with tenant_context(firm):
        assert Person.objects.count() == ROWS
        assert MyNumberRecord.objects.count() == ROWS
        assert AccessLogEntry.objects.filter(action="create").count() == ROWS
        staged = ImportUpload.objects.get(pk=upload_id)
        assert staged.imported_count == ROWS and bytes(staged.ciphertext) == b""
        assert verify_chain().ok
