"""The accountant's portfolio takes each client firm's 法定調書 file from that firm's row
(issue 17): received in that firm only (its schema, its keys, its log), as the accountant's
membership there; refused as a firm that does not exist where the accountant may not prepare
a filing or is no member; a bad file said beside that client's row, nothing kept."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import Membership
from practices import services
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain
from tenants.filings.models import Filing
from tenants.workspace.models import FirmSettings
from tests.filings.test_fill import row, upload
from tests.helpers import make_firm, make_user, signed_in_public_client
from tests.ux.pages import fragment
from tests.ux.test_portfolio import link

pytestmark = pytest.mark.django_db

HANAKO = row("佐藤 花子", birth=("4", "02", "01", "02"))
SABURO = row("田中 三郎")
SUMMARY = re.compile(r"/go/acme/\?next=/filings/([0-9a-f-]{36})/")


@pytest.fixture
def practice(acme, globex, alice, gina, tanaka):
    """Tanaka's practice serves Acme and Globex; Acme lets accountants reveal (and so prepare
    filings), Globex does not."""
    practice = services.practice_create(user=tanaka, name="田中税理士事務所")
    for firm, owner in ((acme, alice), (globex, gina)):
        link(firm, owner, practice, tanaka)
    allow(acme)
    return practice


def allow(firm) -> None:
    with tenant_context(firm):
        FirmSettings.current()
        FirmSettings.objects.update(accountants_may_reveal=True)


def send(client: Client, slug: str, data: bytes | None, **extra):
    files = {} if data is None else {"file": SimpleUploadedFile("給与.csv", data, "text/csv")}
    return client.post(f"/portfolio/{slug}/filings/", files, **extra)


def filings_of(firm) -> list[Filing]:
    with tenant_context(firm):
        return list(Filing.objects.all())


def page(response) -> str:
    """The page without its CSRF tokens (masked anew on every page) and its own address
    (the language switch returns to it)."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    return re.sub(r"/portfolio/[a-z0-9-]+/filings/", "/portfolio/…/filings/", html)


def entries(firm, action: str) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(AccessLogEntry.objects.filter(action=action).order_by("seq"))


def test_an_upload_for_a_client_lands_in_that_firm_and_its_log_only(
    acme, globex, tanaka, practice, staff
):
    console = signed_in_public_client(tanaka)
    response = send(console, "acme", upload(HANAKO, SABURO))
    assert response.status_code == 302
    found = SUMMARY.fullmatch(response["Location"])
    assert found, response["Location"]

    [filing] = filings_of(acme)
    assert str(filing.pk) == found[1] and filing.row_count == 2
    assert filing.created_by_email == tanaka.email and bytes(filing.ciphertext)
    assert filing.status == "review"  # two 佐藤 花子 and no 田中 三郎: for the review
    [entry] = entries(acme, "filing_upload")
    assert (entry.actor_email, entry.actor_role, entry.result) == (
        tanaka.email, "accountant", "allowed",
    )  # fmt: skip
    assert entry.detail["filing"] == str(filing.pk) and entry.detail["format"] == "375"
    with tenant_context(acme):
        assert verify_chain().ok
    # Globex: nothing stored, nothing logged about it.
    assert filings_of(globex) == [] and entries(globex, "filing_upload") == []

    # The hand-off opens the filing's summary on Acme's host.
    handoff = urlsplit(console.get(response["Location"])["Location"])
    firm_client = Client(HTTP_HOST=handoff.hostname)
    landed = firm_client.get(f"{handoff.path}?{handoff.query}")
    assert landed.status_code == 302 and landed["Location"] == f"/filings/{filing.pk}/"
    summary = firm_client.get(landed["Location"]).content.decode()
    assert "給与所得の源泉徴収票" in summary and "複数の候補" in summary


def test_the_progress_script_gets_the_summarys_address(acme, tanaka, practice):
    response = send(signed_in_public_client(tanaka), "acme", upload(SABURO),
                    HTTP_X_REQUESTED_WITH="XMLHttpRequest")  # fmt: skip
    assert response.status_code == 200
    assert SUMMARY.fullmatch(response.json()["location"])


def test_the_upload_never_reaches_a_temporary_file(acme, tanaka, practice, settings, monkeypatch):
    from django.core.files import uploadedfile

    # Were the view's in-memory handler set after the body was read, Django's would run.
    settings.FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]

    def refuse(*args, **kwargs):
        raise AssertionError("the upload was written to a temporary file")

    monkeypatch.setattr(uploadedfile.TemporaryUploadedFile, "__init__", refuse)
    assert send(signed_in_public_client(tanaka), "acme", upload(SABURO)).status_code == 302
    assert len(filings_of(acme)) == 1


def test_a_firm_that_does_not_let_accountants_prepare_filings_is_not_found(
    acme, globex, gina, tanaka, practice
):
    console = signed_in_public_client(tanaka)
    nowhere = send(console, "nowhere", upload(SABURO))
    refused = send(console, "globex", upload(SABURO))
    assert refused.status_code == nowhere.status_code == 404
    assert page(refused) == page(nowhere)  # the same answer as no firm at all
    assert filings_of(globex) == [] and entries(globex, "filing_upload") == []
    # The refusal is in Globex's log, as the firm's host writes a refused action.
    [denied] = entries(globex, "filings_prepare")
    assert (denied.result, denied.actor_email, denied.actor_role) == (
        "denied", tanaka.email, "accountant",
    )  # fmt: skip
    assert denied.detail["authz"] == "filings.prepare"
    assert denied.detail["path"] == "/portfolio/globex/filings/"
    assert len(filings_of(acme)) == 0
    # Once Globex allows it, the same upload is taken.
    allow(globex)
    assert send(console, "globex", upload(SABURO)).status_code == 302
    assert len(filings_of(globex)) == 1


def test_someone_who_is_no_member_of_the_firm_gets_not_found(
    acme, globex, alice, harry, tanaka, suzuki, practice
):
    initech = make_firm("initech", "イニテック株式会社")
    allow(initech)
    make_user("ian@initech.test", firm=initech)
    for user, slug in (
        (tanaka, "initech"),  # a firm the practice does not serve
        (suzuki, "acme"),  # not a member of the practice, so of none of its clients
        (harry, "acme"),  # Acme's own handler: a member, but Acme is no client of his
    ):
        response = send(signed_in_public_client(user), slug, upload(SABURO))
        assert response.status_code == 404, (user.email, slug)
    # A member of the practice removed from the firm is refused the next upload.
    Membership.objects.filter(user=tanaka, firm=acme).delete()
    assert send(signed_in_public_client(tanaka), "acme", upload(SABURO)).status_code == 404
    for firm in (acme, initech):
        assert filings_of(firm) == [] and entries(firm, "filing_upload") == []


def test_without_mfa_nothing_is_read(acme, tanaka, practice):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=tanaka).delete()
    response = send(signed_in_public_client(tanaka), "acme", upload(SABURO))
    assert response.status_code == 302 and response["Location"] == "/mfa/required/"
    assert filings_of(acme) == []


def test_only_a_post_is_taken(acme, tanaka, practice):
    assert signed_in_public_client(tanaka).get("/portfolio/acme/filings/").status_code == 405


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (None, 400, "アップロードするCSVファイルを選んでください"),
        (b"", 400, "ファイルが空です"),
        (upload(HANAKO + ",x"), 400, "1行目: 「375」の項目数は"),
        (upload(HANAKO, row("山田 花子", person_number="1234-5678-9018")), 400,
         "2行目95項目: 番号欄に番号以外の値があります"),
        (upload(*[HANAKO] * 40), 413, "ファイルが大きすぎます"),
    ],
)  # fmt: skip
def test_a_bad_file_is_said_beside_that_clients_row_and_nothing_is_kept(
    acme, globex, tanaka, practice, settings, data, status, message
):
    settings.FILING_MAX_BYTES = 2_000
    allow(globex)
    response = send(signed_in_public_client(tanaka), "acme", data)
    assert response.status_code == status
    page = response.content.decode()
    acme_row, globex_row = fragment(page, "firm-acme", "tr"), fragment(page, "firm-globex", "tr")
    assert message in acme_row and 'role="alert"' in acme_row
    assert 'type="file"' in acme_row  # the form again, to choose another file
    assert message not in globex_row and "errorlist" not in globex_row
    assert "1234-5678" not in page
    assert filings_of(acme) == [] and filings_of(globex) == []
    logged = entries(acme, "filing_upload")
    if data is None:
        assert logged == []  # no file was sent: nothing to record, as on the firm's page
    else:
        [entry] = logged
        assert entry.detail["rejected"] in {"FilingRejected", "FilingTooLarge"}
        assert entry.actor_email == tanaka.email and entry.detail.get("row") in (None, 1, 2)
    assert entries(globex, "filing_upload") == []


def test_the_portfolio_offers_the_upload_only_where_allowed(acme, globex, tanaka, practice):
    page = signed_in_public_client(tanaka).get("/portfolio/").content.decode()
    acme_row, globex_row = fragment(page, "firm-acme", "tr"), fragment(page, "firm-globex", "tr")
    assert 'action="/portfolio/acme/filings/"' in acme_row
    assert 'enctype="multipart/form-data"' in acme_row and 'accept=".csv,text/csv"' in acme_row
    assert "法定調書ファイルをアップロード" in acme_row
    assert "アクメ株式会社の法定調書ファイル（CSV）" in acme_row  # the input's label
    assert "/filings/" not in globex_row and "法定調書ファイル" not in globex_row
    assert "js/upload.js" in page
    # Nobody to upload for: no form, no script, no note.
    with tenant_context(acme):
        FirmSettings.objects.update(accountants_may_reveal=False)
    page = signed_in_public_client(tanaka).get("/portfolio/").content.decode()
    assert "/filings/" not in page and "js/upload.js" not in page
