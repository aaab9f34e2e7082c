"""One ZIP holding a 法定調書 file per client firm, uploaded once on the portfolio (issue 17):
each file goes to the firm its filer column names (the 法人番号 registered in that firm's
settings) or, when it names none, to the firm whose subdomain starts its name; each is
received in that firm only, as from the firm's row; the page says what became of each file,
and what no firm could be told for is kept and logged nowhere."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from tenants.filings.corporate_number import check_digit
from tenants.workspace.models import FirmSettings
from tests.filings.test_fill import row, upload
from tests.filings.test_portfolio_upload import allow, entries, filings_of
from tests.helpers import signed_in_public_client
from tests.ux.pages import fragment, text
from tests.ux.test_portfolio import link

pytestmark = pytest.mark.django_db

ACME_NUMBER = "7000012050002"  # 国税庁's own 法人番号 (docs/filings.md)
OTHER_NUMBER = str(check_digit("100001205000")) + "100001205000"
SABURO = row("田中 三郎")
HANAKO = row("佐藤 花子", birth=("4", "02", "01", "02"))


@pytest.fixture
def practice(acme, globex, alice, gina, tanaka):
    """Tanaka's practice serves Acme and Globex, both letting accountants prepare filings;
    Acme has its 法人番号 registered, Globex none."""
    from practices import services

    practice = services.practice_create(user=tanaka, name="田中税理士事務所")
    for firm, owner in ((acme, alice), (globex, gina)):
        link(firm, owner, practice, tanaka)
        allow(firm)
    register(acme, ACME_NUMBER)
    return practice


def register(firm, number: str) -> None:
    with tenant_context(firm):
        FirmSettings.objects.update(corporate_number=number)


def filed_by(line: str, number: str) -> str:
    """A 375 line with the filer's 法人番号 (field 94) set."""
    cells = line.split(",")
    cells[93] = number
    return ",".join(cells)


def archive(*files: tuple[str, bytes], cp932_names: bool = False) -> bytes:
    """A ZIP of these files. With `cp932_names`, as Windows' own archiver writes one: names
    in CP932 without the UTF-8 flag (Python writes UTF-8 names, so each is written under an
    ASCII stand-in of the same length, whose bytes are then swapped for the CP932 ones)."""
    out = io.BytesIO()
    swaps = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(files):
            if cp932_names:
                raw = name.encode("cp932")
                stand_in = f"{i:03d}".ljust(len(raw), "_").encode("ascii")
                swaps.append((stand_in, raw))
                name = stand_in.decode("ascii")
            zf.writestr(name, data)
    written = out.getvalue()
    for stand_in, raw in swaps:
        assert written.count(stand_in) == 2  # the local header and the central directory
        written = written.replace(stand_in, raw)
    return written


def send(client, data: bytes | None, **extra):
    files = {} if data is None else {"archive": SimpleUploadedFile("clients.zip", data)}
    return client.post("/portfolio/filings/", files, **extra)


def line_of(page: str, name: str) -> str:
    """The text of the page's table row for the file of this name."""
    body = page[page.index("<tbody>") :]
    rows = re.findall(r"<tr id=\"archive-file-\d+\">.*?</tr>", body, flags=re.S)
    found = [text(r) for r in rows if name in r]
    assert len(found) == 1, (name, [text(r) for r in rows])
    return found[0]


def test_each_file_goes_to_its_firm_and_only_there(acme, globex, tanaka, practice, staff):
    data = archive(
        ("2026/給与.csv", upload(filed_by(HANAKO, ACME_NUMBER), filed_by(SABURO, ACME_NUMBER))),
        ("globex_375.csv", upload(SABURO)),
        ("acme-bad.csv", upload(HANAKO, row("山田 花子", person_number="1234-5678-9018"))),
        ("何か.csv", upload(SABURO)),
        ("__MACOSX/._globex_375.csv", b"\x00\x05\x16\x07"),
        ("2026/", b""),
    )
    response = send(signed_in_public_client(tanaka), data)
    assert response.status_code == 200
    page = response.content.decode()

    acme_line = line_of(page, "給与.csv")
    assert "アクメ株式会社" in acme_line and "法人番号で判断" in acme_line
    assert "受付済み" in acme_line and "給与所得の源泉徴収票（2行）" in acme_line
    globex_line = line_of(page, "globex_375.csv")
    assert "グローベックス株式会社" in globex_line and "ファイル名で判断" in globex_line
    bad_line = line_of(page, "acme-bad.csv")
    assert "アクメ株式会社" in bad_line and "受け付けていません" in bad_line
    assert "2行目95項目: 番号欄に番号以外の値があります" in bad_line
    nobody = line_of(page, "何か.csv")
    assert "どの担当事業者のファイルか分かりません" in nobody and "—" in nobody
    assert "__MACOSX" not in page and "1234-5678" not in page
    assert "2件のファイルを受け付けました" in text(page) and "2件は受け付けていません" in text(page)

    [acme_filing] = filings_of(acme)
    [globex_filing] = filings_of(globex)
    assert acme_filing.row_count == 2 and globex_filing.row_count == 1
    assert f'href="/go/acme/?next=/filings/{acme_filing.pk}/"' in page
    assert f'href="/go/globex/?next=/filings/{globex_filing.pk}/"' in page
    # Each firm's log has its own file only: Acme the one taken and the one refused.
    acme_log = entries(acme, "filing_upload")
    assert [e.detail.get("rejected") for e in acme_log] == [None, "FilingRejected"]
    assert acme_log[0].detail["filing"] == str(acme_filing.pk)
    assert all(e.actor_email == tanaka.email and e.actor_role == "accountant" for e in acme_log)
    [globex_entry] = entries(globex, "filing_upload")
    assert globex_entry.detail["filing"] == str(globex_filing.pk)


def test_the_filer_column_wins_over_the_name_and_must_agree_with_a_registered_firm(
    acme, globex, tanaka, practice
):
    data = archive(
        ("globex_375.csv", upload(filed_by(SABURO, ACME_NUMBER))),  # the filer says Acme
        ("globex-2026.csv", upload(filed_by(SABURO, OTHER_NUMBER))),  # Globex has none
        ("acme_375.csv", upload(filed_by(SABURO, OTHER_NUMBER))),  # Acme has another
        ("two.csv", upload(filed_by(SABURO, ACME_NUMBER), filed_by(SABURO, OTHER_NUMBER))),
        ("globex_solo.csv", upload(filed_by(SABURO, "123456789018"))),  # a 個人番号: no say
    )
    page = send(signed_in_public_client(tanaka), data).content.decode()
    assert "アクメ株式会社" in line_of(page, "globex_375.csv")
    assert "法人番号で判断" in line_of(page, "globex_375.csv")
    assert "グローベックス株式会社" in line_of(page, "globex-2026.csv")
    assert "ファイル名で判断" in line_of(page, "globex-2026.csv")
    assert "に登録された法人番号と違います" in line_of(page, "acme_375.csv")
    assert "提出義務者の法人番号が複数あります" in line_of(page, "two.csv")
    assert "グローベックス株式会社" in line_of(page, "globex_solo.csv")
    assert len(filings_of(acme)) == 1 and len(filings_of(globex)) == 2
    assert "123456789018" not in page and OTHER_NUMBER not in page and ACME_NUMBER not in page


def test_a_firm_that_does_not_let_accountants_prepare_refuses_its_file_on_record(
    acme, globex, tanaka, practice
):
    with tenant_context(globex):
        FirmSettings.objects.update(accountants_may_reveal=False)
    page = send(
        signed_in_public_client(tanaka),
        archive(("globex_375.csv", upload(SABURO)), ("acme_375.csv", upload(SABURO))),
    ).content.decode()
    assert "この事業者の法定調書は準備できません" in line_of(page, "globex_375.csv")
    assert "受付済み" in line_of(page, "acme_375.csv")
    assert filings_of(globex) == [] and len(filings_of(acme)) == 1
    [denied] = entries(globex, "filings_prepare")
    assert denied.result == "denied" and denied.detail["path"] == "/portfolio/filings/"


def test_windows_file_names_and_number_shaped_names(acme, tanaka, practice):
    data = archive(("acme_給与_123456789018.csv", upload(SABURO)), cp932_names=True)
    page = send(signed_in_public_client(tanaka), data).content.decode()
    assert "acme_給与_«redacted».csv" in page and "123456789018" not in page
    assert len(filings_of(acme)) == 1


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (None, 400, "ZIPファイルを選んでください"),
        (upload(SABURO), 400, "ZIP形式のファイルを選んでください"),
        (archive(("__MACOSX/._a.csv", b"x")), 400, "ZIPファイルにCSVファイルが入っていません"),
        (b"x" * 3_000, 413, "ファイルが大きすぎます"),
        (archive(*[(f"acme_{i}.csv", upload(SABURO) * 5) for i in range(3)]), 413,
         "展開後の合計 0.00190735 MB まで"),
    ],
)  # fmt: skip
def test_an_archive_that_cannot_be_read_is_said_beside_its_form(
    acme, globex, tanaka, practice, settings, data, status, message
):
    settings.FILING_MAX_BYTES = 2_000
    response = send(signed_in_public_client(tanaka), data)
    assert response.status_code == status
    page = response.content.decode()
    form = fragment(page, "filing-archive", "form")
    assert message in page and 'role="alert"' in page
    assert 'name="archive"' in form
    assert filings_of(acme) == [] and filings_of(globex) == []
    assert entries(acme, "filing_upload") == [] and entries(globex, "filing_upload") == []


def test_too_many_files_are_refused_as_a_whole(acme, tanaka, practice, monkeypatch):
    from practices import filing_archive

    monkeypatch.setattr(filing_archive, "ARCHIVE_MAX_FILES", 2)
    files = [(f"acme_{i}.csv", upload(SABURO)) for i in range(3)]
    response = send(signed_in_public_client(tanaka), archive(*files))
    assert response.status_code == 400
    assert "ZIPファイルに入れられるファイルは2件までです" in response.content.decode()
    assert filings_of(acme) == []


def test_someone_with_no_client_firm_gets_not_found(acme, alice, harry, suzuki):
    for user in (alice, harry, suzuki):
        response = send(signed_in_public_client(user), archive(("acme.csv", upload(SABURO))))
        assert response.status_code == 404, user.email
    assert filings_of(acme) == []


def test_the_portfolio_offers_the_archive_where_any_row_takes_a_file(
    acme, globex, tanaka, practice
):
    page = signed_in_public_client(tanaka).get("/portfolio/").content.decode()
    form = fragment(page, "filing-archive", "form")
    assert 'action="/portfolio/filings/"' in form and 'accept=".zip,application/zip"' in form
    assert "ZIPファイルをアップロードして振り分ける" in form
    for firm in (acme, globex):
        with tenant_context(firm):
            FirmSettings.objects.update(accountants_may_reveal=False)
    page = signed_in_public_client(tanaka).get("/portfolio/").content.decode()
    assert "/portfolio/filings/" not in page
