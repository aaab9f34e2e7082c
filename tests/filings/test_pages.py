"""The filings pages (issue 17): upload a 給与所得の源泉徴収票 file, read its summary, answer its
review, download it filled (one export entry per person, committed first), delete it, and
strip a file for the person's copy. Bad files are refused on the page with where and why, a
viewer is refused every page, another firm's filing is not found, and a copy past its time
says it is gone. The sample files are built from the layouts (tests/filings/test_fill.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain
from tenants.custody import services as custody
from tenants.custody.models import Person
from tenants.filings.models import Filing
from tenants.filings.records import holds_numbers, parse, strip_numbers
from tests.filings import test_fill
from tests.filings.test_fill import OWNER, row, upload
from tests.filings.test_records import number
from tests.helpers import signed_in_firm_client

pytestmark = pytest.mark.django_db
staff = test_fill.staff  # the fixture: 髙橋 一郎 with family, two 佐藤 花子, …

ICHIRO = row(
    "高橋 一郎", birth=("3", "62", "04", "01"), spouse="髙橋　美咲", dependants=("高橋 翔",)
)
HANAKO = row("佐藤 花子", birth=("4", "02", "01", "02"))
SABURO = row("田中 三郎")
# Twelve digits on their own (a UUID's last group may be twelve digits, after its hyphen).
TWELVE_DIGITS = re.compile(r"(?<![\d-])\d{12}(?!\d)")


def send(client, data: bytes, path: str = "/filings/", **extra):
    return client.post(path, {"file": SimpleUploadedFile("給与.csv", data, "text/csv"), **extra})


def uploaded(client, data: bytes) -> str:
    response = send(client, data)
    assert response.status_code == 302, response.content.decode()[-1500:]
    assert re.fullmatch(r"/filings/[0-9a-f-]{36}/", response["Location"])
    return response["Location"]


def sato_with_a_number(acme) -> Person:
    """One of the two 佐藤 花子, numbered and notified of the withholding-slip purpose."""
    with tenant_context(acme):
        sato = Person.objects.filter(family_name="佐藤").order_by("pk").first()
        custody.number_set(actor=OWNER, firm=acme, person=sato, raw=number(5), purpose_codes=None)
    return sato


@pytest.mark.django_db(transaction=True)
def test_upload_summary_review_and_download_filled(acme, harry, staff):
    sato = sato_with_a_number(acme)
    client = signed_in_firm_client(harry, acme)
    data = upload(ICHIRO, HANAKO, SABURO)
    summary_url = uploaded(client, data)

    summary = client.get(summary_url).content.decode()
    assert "給与所得の源泉徴収票" in summary and "令和7年分" in summary
    assert "給与所得の源泉徴収票作成事務" in summary  # the purpose's name
    assert "複数の候補" in summary and "該当者なし" in summary and "残り2件" in summary
    assert "マイナンバーが含まれます" in summary  # the warning beside the download
    assert "/download/" not in summary  # not before the review is done

    review_url = summary_url + "review/"
    review = client.get(review_url).content.decode()
    assert "佐藤 花子" in review and "田中 三郎" in review and "カナ カナ" in review
    assert "1990-01-02" in review  # the candidates' birth date tells them apart
    assert not TWELVE_DIGITS.search(review)

    picked = client.post(review_url, {"row": 2, "field": 95, "answer": "pick", "person": sato.pk})
    assert picked.status_code == 302 and picked["Location"].startswith(review_url)
    left = client.post(review_url, {"row": 3, "field": 95, "answer": "blank",
                                    "reason": "退職済みで番号の提供を受けていない"})  # fmt: skip
    assert left.status_code == 302 and left["Location"] == summary_url
    ready = client.get(summary_url).content.decode()
    assert "ダウンロードできます" in ready and "/download/" in ready
    answers = client.get(review_url).content.decode()
    assert "退職済みで番号の提供を受けていない" in answers and "佐藤 花子" in answers

    response = client.post(summary_url + "download/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="375_')
    assert "no-store" in response["Cache-Control"]
    filled = parse(response.content)
    cells = [(r, f) for r, f in ((1, 95), (1, 99), (1, 103), (2, 95), (3, 95))]
    values = [filled.records[r - 1].text(f, "cp932") for r, f in cells]
    assert values == [number(1), number(2), number(3), number(5), ""]
    assert strip_numbers(filled) == data  # nothing else changed
    assert not connection.in_atomic_block  # what is read below was committed
    with tenant_context(acme):
        exports = AccessLogEntry.objects.filter(action="export", result="allowed")
        people = {staff["ichiro"].pk, staff["spouse"].pk, staff["child"].pk, sato.pk}
        assert sorted(e.person_id for e in exports) == sorted(people)
        assert {e.purpose for e in exports} == {"withholding_slip"}
        assert verify_chain().ok
        assert Filing.objects.get().downloads == 1


def test_an_upload_sent_by_the_progress_script_gets_the_summarys_address(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    response = client.post("/filings/", {"file": SimpleUploadedFile("a.csv", upload(SABURO))},
                           HTTP_X_REQUESTED_WITH="XMLHttpRequest")  # fmt: skip
    assert response.status_code == 200
    assert re.fullmatch(r"/filings/[0-9a-f-]{36}/", response.json()["location"])


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (None, 400, "アップロードするCSVファイルを選んでください"),
        (b"", 400, "ファイルが空です"),
        (upload(HANAKO + ",x"), 400, "1行目: 「375」の項目数は"),
        (upload(HANAKO, row("山田 花子", person_number="1234-5678-9018")), 400,
         "2行目95項目: 番号欄に番号以外の値があります"),
        (upload(HANAKO).decode("cp932").encode("utf-8"), 400, "文字コードを読み取れませんでした"),
        (upload(*[HANAKO] * 40), 413, "ファイルが大きすぎます"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_on_the_page_with_where_and_why(
    acme, harry, settings, data, status, message
):
    settings.FILING_MAX_BYTES = 2_000
    client = signed_in_firm_client(harry, acme)
    response = client.post("/filings/", {}) if data is None else send(client, data)
    assert response.status_code == status
    page = response.content.decode()
    assert message in page
    assert 'type="file"' in page  # the form again, to choose another file
    assert "1234-5678" not in page
    with tenant_context(acme):
        assert not Filing.objects.exists()


def test_a_viewer_is_refused_every_filings_page(acme, harry, vera, staff):
    summary_url = uploaded(signed_in_firm_client(harry, acme), upload(SABURO))
    client = signed_in_firm_client(vera, acme)
    for path in ("/filings/", "/filings/strip/", summary_url, summary_url + "review/"):
        assert client.get(path).status_code == 403, path
    for path in ("/filings/", "/filings/strip/", summary_url + "review/",
                 summary_url + "download/", summary_url + "delete/"):  # fmt: skip
        assert send(client, upload(SABURO), path).status_code == 403, path
    with tenant_context(acme):
        assert Filing.objects.get().deleted_at is None
        assert AccessLogEntry.objects.filter(action="filings_prepare", result="denied").exists()
        assert AccessLogEntry.objects.filter(action="export", result="denied").exists()
    assert "法定調書・給与支払報告書" not in client.get("/").content.decode()


def test_the_menu_offers_filings_to_those_who_may_prepare(acme, harry, carol):
    from tenants.workspace.models import FirmSettings

    assert "/filings/" in signed_in_firm_client(harry, acme).get("/").content.decode()
    accountant = signed_in_firm_client(carol, acme)
    assert "/filings/" not in accountant.get("/").content.decode()
    assert accountant.get("/filings/").status_code == 403
    with tenant_context(acme):
        FirmSettings.objects.update(accountants_may_reveal=True)
    assert "/filings/" in accountant.get("/").content.decode()
    assert accountant.get("/filings/").status_code == 200


def test_another_firms_filing_is_not_found(acme, globex, harry, gina, staff):
    summary_url = uploaded(signed_in_firm_client(harry, acme), upload(SABURO))
    client = signed_in_firm_client(gina, globex)
    assert client.get(summary_url).status_code == 404
    assert client.get(summary_url + "review/").status_code == 404
    assert client.post(summary_url + "download/").status_code == 404
    assert client.post(summary_url + "delete/").status_code == 404
    with tenant_context(acme):
        assert Filing.objects.get().deleted_at is None


def test_a_filing_past_its_time_is_gone_and_its_deletion_recorded(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    summary_url = uploaded(client, upload(SABURO))
    client.post(summary_url + "review/", {"row": 1, "field": 95, "answer": "blank",
                                          "reason": "該当者なし"})  # fmt: skip
    with tenant_context(acme):
        Filing.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(summary_url + "download/")
    assert response.status_code == 410
    assert "保管期限（24時間）を過ぎたか削除されたため" in response.content.decode()
    page = client.get(summary_url).content.decode()
    assert "保管期限（24時間）を過ぎたか削除されたため" in page and "/download/" not in page
    listing = client.get("/filings/").content.decode()
    assert "保管期限（24時間）の経過" in listing and "削除済み" in listing
    with tenant_context(acme):
        gone = Filing.objects.get()
        assert not bytes(gone.ciphertext)
        assert gone.deletion == Filing.Deletion.EXPIRED


def test_a_refused_answer_is_said_beside_its_line(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    review_url = uploaded(client, upload(HANAKO, SABURO)) + "review/"
    # A dependant is no one's own row; an empty reason is no reason; nobody picked is nothing.
    for answer, message in (
        ({"answer": "pick", "person": staff["spouse"].pk}, "選んだ方はこの欄に指定できません"),
        ({"answer": "blank", "reason": "  "}, "空欄のままにする理由を200文字以内で"),
        ({"answer": "blank", "reason": "番号は" + number(7)}, "12桁以上の数字は書かないで"),
        ({"answer": "pick", "person": ""}, "選ぶ方を一覧から選んでください"),
    ):
        response = client.post(review_url, {"row": 1, "field": 95, **answer})
        assert response.status_code == 400, answer
        page = response.content.decode()
        assert message in page and 'id="error-1-95"' in page
        assert number(7) not in page
    with tenant_context(acme):
        assert Filing.objects.get().choices == {}


def test_delete_keeps_the_record_and_says_so(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    summary_url = uploaded(client, upload(SABURO))
    response = client.post(summary_url + "delete/", follow=True)
    assert "アップロードしたファイルを削除しました" in response.content.decode()
    assert "担当者による削除" in response.content.decode()
    page = client.get(summary_url).content.decode()
    assert "harry@acme.test" in page and "/download/" not in page
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="filing_delete").count() == 1


def test_strip_warns_of_the_numbers_then_returns_the_file_without_them(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    data = upload(row("高橋 一郎", person_number=number(1), spouse="髙橋 美咲"), SABURO)
    checked = send(client, data, "/filings/strip/", step="check")
    assert checked.status_code == 200
    page = checked.content.decode()
    assert "このファイルには番号が1件含まれています。本人に渡す前に必ず消去してください。" in page
    assert number(1) not in page
    response = send(client, data, "/filings/strip/", step="strip")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="375_person_copy.csv"')
    assert (
        "filename*=UTF-8''375_%E6%9C%AC%E4%BA%BA%E4%BA%A4%E4%BB%98%E7%94%A8.csv"
        in (response["Content-Disposition"])
    )
    stripped = parse(response.content)
    assert holds_numbers(stripped) == [] and strip_numbers(parse(data)) == response.content
    clean = send(client, upload(SABURO), "/filings/strip/", step="check").content.decode()
    assert "このファイルに番号は含まれていません" in clean
    bad = send(client, b"not,a,filing\r\n", "/filings/strip/", step="strip")
    assert bad.status_code == 400 and "対応していない様式です" in bad.content.decode()
    with tenant_context(acme):
        [entry] = AccessLogEntry.objects.filter(action="filing_strip")
        assert entry.detail["removed"] == 1


def test_the_portfolio_links_a_client_firm_to_its_filings_where_the_accountant_may(
    acme, globex, alice, gina, tanaka
):
    from practices import services
    from tenants.workspace.models import FirmSettings
    from tests.helpers import signed_in_public_client
    from tests.ux.pages import fragment
    from tests.ux.test_portfolio import link

    practice = services.practice_create(user=tanaka, name="田中税理士事務所")
    for firm, owner in ((acme, alice), (globex, gina)):
        link(firm, owner, practice, tanaka)
    with tenant_context(acme):
        FirmSettings.current()
        FirmSettings.objects.update(accountants_may_reveal=True)
    page = signed_in_public_client(tanaka).get("/portfolio/").content.decode()
    assert "/go/acme/?next=/filings/" in fragment(page, "firm-acme", "tr")
    # Globex does not let accountants export numbers: no link to a page that would refuse.
    assert "/filings/" not in fragment(page, "firm-globex", "tr")


def test_among_many_people_a_line_searches_by_name_and_the_list_pages(
    acme, harry, staff, monkeypatch
):
    from tenants.filings import views

    monkeypatch.setattr(views, "PICK_INLINE", 2)  # the staff are more than two
    monkeypatch.setattr(views, "REVIEW_SIZE", 1)
    client = signed_in_firm_client(harry, acme)
    review_url = uploaded(client, upload(SABURO, row("山本 五郎"))) + "review/"
    first = client.get(review_url).content.decode()
    assert "氏名・フリガナ・コードで探す" in first and "山田 太郎" not in first
    assert "山本 五郎" not in first and "?page=2" in first  # one line per page here
    found = client.post(review_url, {"row": 1, "field": 95, "answer": "find", "q": "山田"})
    assert found.status_code == 200
    page = found.content.decode()
    assert f'<option value="{staff["yamada"].pk}">山田 太郎（カナ カナ）</option>' in page
    assert "髙橋 一郎" not in page  # only what the search found
    assert "?q=" not in page  # the search was posted, not put in an address
    second = client.get(review_url + "?page=2").content.decode()
    assert "山本 五郎" in second
