"""`/api/v1/filings/` as payroll software uses it: upload a 375 file, read the review (rows
and reasons, never a number), answer it, download the filled file in its own encoding and
line endings; strip a file for the person's copy; refusals, scopes and other firms."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.filings.records import parse, strip_numbers
from tests.api.test_api import api, token
from tests.filings.test_fill import row, upload
from tests.filings.test_records import number

pytestmark = pytest.mark.django_db


def sample() -> bytes:
    return upload(
        row(
            "高橋 一郎", birth=("3", "62", "04", "01"), spouse="髙橋 美咲", dependants=("高橋 翔",)
        ),
        row("田中 三郎"),
    )


def send(client, path: str, data: bytes):
    return client.post(path, {"file": SimpleUploadedFile("payroll.csv", data, "text/csv")})


def test_upload_review_answer_and_download(acme, harry, staff):
    client = api(acme, token(acme, harry))
    data = sample()
    created = send(client, "/api/v1/filings/", data)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["format"], body["rows"], body["matched"], body["status"]) == (
        "375",
        2,
        3,
        "review",
    )
    assert body["purpose"] == "withholding_slip" and body["pending"] == 1
    assert body["review"] == [{"row": 2, "field": 95, "slot": "person", "reason": "nobody",
                               "candidates": [], "person": None, "answered": False}]  # fmt: skip
    assert number(1) not in created.content.decode()
    filing = f"/api/v1/filings/{body['id']}/"
    early = client.get(filing + "file/")
    assert early.status_code == 409 and early.json()["code"] == "review_needed"
    answered = client.post(filing + "answers/", {"row": 2, "field": 95, "reason": "退職者"},
                           content_type="application/json")  # fmt: skip
    assert answered.status_code == 200 and answered.json()["status"] == "ready"
    again = client.get(filing).json()
    assert again["review"] == [] and again["pending"] == 0
    assert again["answers"] == [{"row": 2, "field": 95, "person": None, "reason": "退職者"}]
    filled = client.get(filing + "file/")
    assert filled.status_code == 200 and filled["Content-Type"] == "text/csv"
    assert filled["Cache-Control"] == "no-store"
    content = filled.content
    assert content.count(b"\r\n") == 2  # the upload's CRLF, in CP932
    assert parse(content).records[0].text(95, "cp932") == number(1)
    assert strip_numbers(parse(content)) == data
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="export", result="allowed").count() == 3


def test_a_bad_file_is_400_with_the_row_and_field(acme, harry, staff):
    client = api(acme, token(acme, harry))
    cells = row("高橋 一郎").split(",")
    cells[94] = "1234-5678-9012"
    response = send(client, "/api/v1/filings/", upload(row("田中 三郎"), ",".join(cells)))
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["row"], body["field"]) == ("filing_rejected", 2, 95)
    assert "2行目95項目" in body["detail"] and "5678" not in body["detail"]
    missing = client.post("/api/v1/filings/", {})
    assert missing.status_code == 400 and "file" in missing.json()


def test_an_answer_that_does_not_fit_is_400(acme, harry, staff):
    client = api(acme, token(acme, harry))
    filing = send(client, "/api/v1/filings/", sample()).json()["id"]
    path = f"/api/v1/filings/{filing}/answers/"
    for body, code in (
        ({"row": 1, "field": 95, "person": staff["yamada"].pk}, "choice_refused"),
        ({"row": 2, "field": 95, "person": staff["spouse"].pk}, "choice_refused"),
        ({"row": 2, "field": 95, "reason": f"番号 {number(2)}"}, "reason_refused"),
        ({"row": 2, "field": 95}, "invalid"),
        ({"row": 2, "field": 95, "reason": "退職\x00者"}, "invalid"),
    ):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert response.json().get("code") in (code, None), response.content
        assert number(2) not in response.content.decode()


def test_strip_gives_the_file_back_without_numbers(acme, harry, staff):
    client = api(acme, token(acme, harry, scopes=["write"]))
    data = upload(row("高橋 一郎", person_number=number(1)))
    response = send(client, "/api/v1/filings/strip/", data)
    assert response.status_code == 200 and response["X-Numbers-Removed"] == "1"
    assert response.content == data.replace(number(1).encode(), b"")


def test_scopes_and_roles(acme, harry, vera, carol, staff):
    reader = api(acme, token(acme, harry, scopes=["read", "write"]))
    refused = send(reader, "/api/v1/filings/", sample())
    assert refused.status_code == 403
    filing = send(api(acme, token(acme, harry)), "/api/v1/filings/", sample()).json()["id"]
    assert reader.get(f"/api/v1/filings/{filing}/").status_code == 200
    assert reader.get(f"/api/v1/filings/{filing}/file/").status_code == 403
    viewer = api(acme, token(acme, vera))
    assert viewer.get(f"/api/v1/filings/{filing}/").status_code == 403
    assert send(viewer, "/api/v1/filings/strip/", sample()).status_code == 403
    # An accountant prepares filings only where the firm lets accountants see numbers.
    accountant = api(acme, token(acme, carol))
    assert send(accountant, "/api/v1/filings/", sample()).status_code == 403
    with tenant_context(acme):
        denied = AccessLogEntry.objects.filter(result="denied").count()
    assert denied >= 4


def test_another_firms_filing_is_404_and_its_token_401(acme, globex, harry, gina, staff):
    filing = send(api(acme, token(acme, harry)), "/api/v1/filings/", sample()).json()["id"]
    theirs = api(globex, token(globex, gina))
    for path in (f"/api/v1/filings/{filing}/", f"/api/v1/filings/{filing}/file/"):
        assert theirs.get(path).status_code == 404
    assert theirs.delete(f"/api/v1/filings/{filing}/").status_code == 404
    assert theirs.post(f"/api/v1/filings/{filing}/answers/", {"row": 2, "field": 95,
                       "reason": "x"}, content_type="application/json").status_code == 404  # fmt: skip
    assert theirs.get(f"/api/v1/filings/{uuid.uuid4()}/").status_code == 404
    intruder = api(acme, token(globex, gina))
    assert intruder.get(f"/api/v1/filings/{filing}/").status_code == 401
    assert send(intruder, "/api/v1/filings/", sample()).status_code == 401


def test_delete_keeps_the_record_and_the_file_is_gone(acme, harry, staff):
    client = api(acme, token(acme, harry))
    filing = send(client, "/api/v1/filings/", sample()).json()["id"]
    deleted = client.delete(f"/api/v1/filings/{filing}/")
    assert deleted.status_code == 200 and deleted.json()["deletion"] == "by_user"
    gone = client.get(f"/api/v1/filings/{filing}/file/")
    assert gone.status_code == 410 and gone.json()["code"] == "filing_gone"
    assert client.get(f"/api/v1/filings/{filing}/").json()["status"] == "deleted"
