"""Bulk onboarding of client firms from a CSV: every row checked before anything is made,
errors by row and column, nothing half-made, idempotent, and only for a practice's admins."""

from __future__ import annotations

import html
import re
import time

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from accounts.models import Invitation, Membership, Role
from firms.models import Firm
from practices import client_import, services
from practices.models import ClientImport, PracticeClient, PracticeMember
from tenants.auditlog.models import AccessLogEntry
from tests.helpers import make_user, signed_in_firm_client, signed_in_public_client
from tests.progress.helpers import eager_tasks

pytestmark = pytest.mark.django_db

ENGLISH = "name,subdomain,owner email,plan"
JAPANESE = "事業者名,サブドメイン,オーナーのメールアドレス,プラン"


@pytest.fixture
def practice(tanaka, suzuki):
    practice = services.practice_create(user=tanaka, name="田中税理士事務所")
    admin = PracticeMember.objects.get(user=tanaka, practice=practice)
    services.member_add(admin=admin, email=suzuki.email)  # staff
    return practice


def rows(count: int, *, plan: str = "free", start: int = 1) -> list[str]:
    return [
        f"顧問先{i}株式会社,client{i:03d},owner{i}@client{i}.test,{plan}"
        for i in range(start, start + count)
    ]


def csv_file(*lines: str, header: str = ENGLISH, newline: str = "\n") -> bytes:
    return newline.join([header, *lines]).encode()


def upload(client, practice, data: bytes, name: str = "clients.csv"):
    """Upload a file; the import's task runs in-process before this returns."""
    with eager_tasks():
        return client.post(
            f"/practices/{practice.pk}/clients/import/",
            {"file": SimpleUploadedFile(name, data, "text/csv")},
        )


def page_of(client, response) -> str:
    assert response.status_code == 302, response.content.decode()[-2000:]
    return client.get(response["Location"]).content.decode()


def error_table(page: str) -> dict[tuple[int, str], list[str]]:
    """The error table's rows: (row, column) -> the reasons."""
    found: dict[tuple[int, str], list[str]] = {}
    for row, column, reason in re.findall(
        r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page
    ):
        found.setdefault((int(row), column), []).append(html.unescape(reason))
    return found


def client_slugs(practice) -> set[str]:
    return set(
        PracticeClient.objects.filter(practice=practice, status="active").values_list(
            "firm__slug", flat=True
        )
    )


# --- a good file ----------------------------------------------------------------------------


def test_a_valid_file_makes_links_and_invites_every_firm(tanaka, suzuki, practice):
    console = signed_in_public_client(tanaka)
    response = upload(console, practice, csv_file(*rows(3)))
    page = page_of(console, response)
    assert "作成 3 社、作成済み 0 社、作成できなかった行 0 件" in page
    assert client_slugs(practice) == {"client001", "client002", "client003"}
    for i in (1, 2, 3):
        firm = Firm.objects.get(slug=f"client{i:03d}")
        assert firm.name == f"顧問先{i}株式会社"
        # Exactly as the one-firm flow: the practice's admin is in (staff only once
        # assigned, practices.assignments), the owner invited.
        membership = Membership.objects.get(user=tanaka, firm=firm)
        assert membership.role == Role.ACCOUNTANT and membership.practice == practice
        assert not Membership.objects.filter(user=suzuki, firm=firm).exists()
        assert not Membership.objects.filter(firm=firm, role=Role.OWNER).exists()
        invitation = Invitation.objects.get(firm=firm)
        assert (invitation.email, invitation.role) == (f"owner{i}@client{i}.test", Role.OWNER)
        assert any(f"owner{i}@client{i}.test" in message.to for message in mail.outbox)
        with tenant_context(firm):
            actions = list(AccessLogEntry.objects.values_list("action", flat=True))
        assert "practice_link" in actions and "member_invite" in actions
        assert actions.count("member_add") == 1
    stored = ClientImport.objects.get()
    assert (stored.created_by, stored.file_name, stored.row_count) == (tanaka, "clients.csv", 3)
    assert (stored.status, stored.progress_done, stored.count("created")) == ("done", 3, 3)
    assert [row["line"] for row in stored.rows] == [2, 3, 4]
    assert "顧問先1株式会社" in console.get("/portfolio/").content.decode()


def test_uploading_the_same_file_again_makes_nothing(tanaka, practice):
    console = signed_in_public_client(tanaka)
    data = csv_file(*rows(2))
    upload(console, practice, data)
    sent, firms = len(mail.outbox), Firm.objects.count()
    page = page_of(console, upload(console, practice, data))
    assert "作成 0 社、作成済み 2 社" in page and "作成済み（この事務所の顧問先です）" in page
    assert (len(mail.outbox), Firm.objects.count()) == (sent, firms)
    assert ClientImport.objects.count() == 2
    # A file with the old rows and a new one: only the new one is made.
    page = page_of(console, upload(console, practice, csv_file(*rows(3))))
    assert "作成 1 社、作成済み 2 社" in page
    assert Firm.objects.count() == firms + 1


def test_japanese_headings_in_cp932_with_windows_line_ends(tanaka, practice):
    console = signed_in_public_client(tanaka)
    data = "\r\n".join([JAPANESE, "山本商店,yamamoto,Owner@Yamamoto.test,フリー", ""])
    page_of(console, upload(console, practice, data.encode("cp932")))
    assert Firm.objects.get(slug="yamamoto").name == "山本商店"
    assert Invitation.objects.get(firm__slug="yamamoto").email == "owner@yamamoto.test"


def test_utf8_with_a_bom_and_full_width_subdomain(tanaka, practice):
    console = signed_in_public_client(tanaka)
    data = "\ufeff" + "\n".join([JAPANESE, "佐藤工業,ｓａｔｏ-kogyo,sato@sato.test,free"])
    page_of(console, upload(console, practice, data.encode("utf-8")))
    assert Firm.objects.get(slug="sato-kogyo").name == "佐藤工業"


def test_the_accountant_plan_bills_through_the_practices_billing_firm(
    acme, alice, tanaka, practice
):
    console = signed_in_public_client(tanaka)
    refused = upload(console, practice, csv_file(*rows(1, plan="accountant")))
    assert refused.status_code == 400
    assert "請求先が設定されていない" in refused.content.decode()
    Membership.objects.create(user=tanaka, firm=acme, role=Role.OWNER)
    services.billing_firm_set(
        admin=PracticeMember.objects.get(user=tanaka, practice=practice), firm=acme
    )
    refused = upload(console, practice, csv_file(*rows(1, plan="free")))
    assert "プランは accountant にしてください" in refused.content.decode()
    page_of(console, upload(console, practice, csv_file(*rows(1, plan="会計事務所"))))
    assert client_slugs(practice) == {"client001"}
    from billing.services import practice_client_count

    assert practice_client_count(acme) == 1


def test_the_template_has_the_japanese_headings_and_a_bom(tanaka, practice):
    console = signed_in_public_client(tanaka)
    response = console.get(f"/practices/{practice.pk}/clients/import/template.csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body == "\ufeff" + JAPANESE + ",担当\r\n"
    # ... and the template, filled in, is accepted as it is.
    parsed = client_import.parse_csv((body + "a社,a-sha,a@a.test,free,\r\n").encode())
    assert not parsed.errors and parsed.rows[0].slug == "a-sha"


# --- a bad file: nothing made, every error named --------------------------------------------


def test_every_bad_row_is_named_by_row_and_column_and_nothing_is_made(
    acme, alice, tanaka, practice
):
    operator = make_user("ops@platform.test", operator=True)
    lines = [
        "良い会社,good-one,good@good.test,free",  # row 2: fine, yet not made
        ",no-name,a@a.test,free",  # 3: name missing
        f"{'長' * 201},long-name,a@a.test,free",  # 4: name too long
        "記号,Bad_Slug!,a@a.test,free",  # 5: subdomain format
        "予約,admin,a@a.test,free",  # 6: reserved subdomain
        "他社,acme,a@a.test,free",  # 7: another firm's subdomain
        "重複,good-one,a@a.test,free",  # 8: same subdomain as row 2
        "メール,mail-bad,not-an-email,free",  # 9: email
        "メールなし,no-mail,,free",  # 10: email missing
        "プラン,plan-bad,a@a.test,gold",  # 11: unknown plan
        "有料,paid,a@a.test,standard",  # 12: a plan an import cannot start
        "運用者,ops-owner,ops@platform.test,free",  # 13: an operator's account
        "列,extra,a@a.test,free,余分",  # 14: more cells than columns
    ]
    assert operator.is_operator
    console = signed_in_public_client(tanaka)
    firms, sent = Firm.objects.count(), len(mail.outbox)
    response = upload(console, practice, csv_file(*lines))
    page = response.content.decode()
    assert response.status_code == 400
    expected = [
        (3, "事業者名", "事業者名を入力してください。"),
        (4, "事業者名", "200文字以内にしてください。"),
        (5, "サブドメイン", "半角英小文字・数字・ハイフンのみ"),
        (6, "サブドメイン", "予約語のため使えません"),
        (7, "サブドメイン", "サブドメイン「acme」は既に使われています"),
        (8, "サブドメイン", "2行目と同じサブドメインです。"),
        (9, "オーナーのメールアドレス", "メールアドレスの形式が正しくありません。"),
        (10, "オーナーのメールアドレス", "メールアドレスを入力してください。"),
        (11, "プラン", "プランは free, standard, accountant のいずれかにしてください。"),
        (12, "プラン", "スタンダードプランはオーナーご本人が"),
        (13, "オーナーのメールアドレス", "運用者アカウントは事業者に招待できません。"),
        (14, "行全体", "列の数が見出し行より多くなっています。"),
    ]
    table = error_table(page)
    for row, column, reason in expected:
        assert any(reason in said for said in table[(row, column)]), (row, column, table)
    assert set(table) == {(row, column) for row, column, _reason in expected}
    assert "12 行に 12 件の誤りがあります。何も作成していません。" in page
    assert "アクメ株式会社" not in page  # the other firm's name is never said
    assert (Firm.objects.count(), len(mail.outbox)) == (firms, sent)
    assert not PracticeClient.objects.filter(practice=practice).exists()
    assert not ClientImport.objects.exists()


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            b"name,subdomain,owner email,plan,staf\na,abc,a@a.test,free",
            "使えない列があります: staf",
        ),
        (b"name,subdomain,plan\na,abc,free", "必要な列がありません: オーナーのメールアドレス"),
        (b"name,subdomain,owner email,plan,slug\na,abc,a@a.test,free,abc", "同じ項目の列が複数"),
        (b"name,subdomain,owner email,plan\n", "見出し行の下に事業者の行がありません"),
        (b"", "ファイルが空です"),
        (b"\xff\xfe\x00n\x00a", "文字コードを判別できませんでした"),
    ],
)
def test_a_file_refused_as_a_whole_says_why(tanaka, practice, data, said):
    response = upload(signed_in_public_client(tanaka), practice, data)
    assert response.status_code == 400 and said in response.content.decode()
    assert not ClientImport.objects.exists()


def test_a_subdomain_of_a_firm_that_invited_the_practice_says_to_accept(
    acme, alice, tanaka, practice
):
    services.practice_invite(owner=Membership.objects.get(user=alice), code=practice.code)
    response = upload(signed_in_public_client(tanaka), practice, csv_file("x,acme,a@a.test,free"))
    assert "招待を承諾してください" in response.content.decode()


def test_a_subdomain_taken_after_the_check_fails_that_row_only(tanaka, practice):
    admin = PracticeMember.objects.get(user=tanaka, practice=practice)
    started = client_import.import_start(
        member=admin, data=csv_file(*rows(3)), file_name="late.csv", enqueue=False
    )
    Firm.objects.create(name="先客", slug="client002", schema_name="firm_client002_x")
    done = client_import.run_import(started.pk)
    assert done is not None and done.status == "done"
    assert [row["outcome"] for row in done.rows] == ["created", "failed", "created"]
    assert "既に使われています" in done.rows[1]["reason"]
    assert client_slugs(practice) == {"client001", "client003"}
    assert client_import.run_import(started.pk).count("created") == 2  # a redelivery: nothing


# --- who may --------------------------------------------------------------------------------


def test_a_staff_member_is_told_only_admins_may_import(suzuki, tanaka, practice):
    console = signed_in_public_client(suzuki)
    response = upload(console, practice, csv_file(*rows(1)))
    assert response.status_code == 302
    page = console.get(response["Location"]).content.decode()
    assert "事務所の管理者だけが行えます" in page
    assert "CSVで一括作成" not in page  # the link is for admins
    assert not Firm.objects.filter(slug="client001").exists()
    assert (
        "CSVで一括作成"
        in signed_in_public_client(tanaka).get(f"/practices/{practice.pk}/").content.decode()
    )
    # Nor may they open an import or its template (the imports list owners' emails).
    page_of(signed_in_public_client(tanaka), upload(signed_in_public_client(tanaka), practice,
                                                    csv_file(*rows(1))))  # fmt: skip
    stored = ClientImport.objects.get()
    base = f"/practices/{practice.pk}/clients/import"
    for path in (f"{base}/{stored.pk}/", f"{base}/{stored.pk}/status/", f"{base}/template.csv"):
        assert console.get(path).status_code == 404, path


def test_another_practices_member_and_a_firms_owner_get_404(acme, alice, gina, tanaka, practice):
    theirs = services.practice_create(user=gina, name="別の事務所")
    console = signed_in_public_client(tanaka)
    page_of(console, upload(console, practice, csv_file(*rows(1))))
    stored = ClientImport.objects.get()
    base = f"/practices/{practice.pk}/clients/import"
    other = signed_in_public_client(gina)
    for path in (f"{base}/", f"{base}/{stored.pk}/", f"{base}/{stored.pk}/status/",
                 f"{base}/template.csv"):  # fmt: skip
        assert other.get(path).status_code == 404, path
        assert signed_in_public_client(alice).get(path).status_code == 404, path
    response = upload(other, practice, csv_file(*rows(1, start=5)))
    assert response.status_code == 404
    # Their own practice's page does not open tanaka's import either.
    assert other.get(f"/practices/{theirs.pk}/clients/import/{stored.pk}/").status_code == 404
    assert not Firm.objects.filter(slug="client005").exists()
    # On a firm's host the pages do not exist.
    assert signed_in_firm_client(alice, acme).get(f"{base}/").status_code == 404


def test_the_progress_status_answers_json(tanaka, practice):
    console = signed_in_public_client(tanaka)
    page_of(console, upload(console, practice, csv_file(*rows(2))))
    stored = ClientImport.objects.get()
    figures = console.get(f"/practices/{practice.pk}/clients/import/{stored.pk}/status/").json()
    assert (figures["status"], figures["done"], figures["total"]) == ("done", 2, 2)


# --- January scale --------------------------------------------------------------------------


def test_fifty_firms_in_one_file(tanaka, practice, capsys):
    console = signed_in_public_client(tanaka)
    began = time.monotonic()
    page = page_of(console, upload(console, practice, csv_file(*rows(50))))
    took = time.monotonic() - began
    assert "作成 50 社" in page
    assert len(client_slugs(practice)) == 50
    assert Invitation.objects.filter(role=Role.OWNER).count() == 50
    with capsys.disabled():
        print(f"\n50 client firms imported in {took:.1f} s")


# --- English --------------------------------------------------------------------------------


def test_the_pages_and_every_reason_read_in_english(settings, acme, tanaka, practice):
    from tests.ux_words.test_english_pages import japanese_left

    console = signed_in_public_client(tanaka)
    console.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    base = f"/practices/{practice.pk}/clients/import/"
    assert japanese_left(console.get(base).content.decode(), set()) == []
    bad = csv_file(",Bad!,nope,gold", "x,acme,a@a.test,standard", "y,acme,a@a.test,free")
    page = upload(console, practice, bad).content.decode()
    assert "Same subdomain as row 3." in page and "The plan must be one of" in page
    assert japanese_left(page, {"アクメ株式会社"}) == []
    names = {f"顧問先{i}株式会社" for i in (1, 2)}
    done = page_of(console, upload(console, practice, csv_file(*rows(2))))
    assert "Created: 2 firms." in done and japanese_left(done, names) == []
    detail = console.get(f"/practices/{practice.pk}/").content.decode()
    assert "Create from CSV" in detail


# --- when the import cannot run -------------------------------------------------------------


def test_with_the_broker_down_nothing_is_made_and_the_page_says_upload_again(
    monkeypatch, tanaka, practice
):
    import config.celery

    monkeypatch.setattr(config.celery, "send_or_log", lambda *args, **kwargs: False)
    console = signed_in_public_client(tanaka)
    page = page_of(console, upload(console, practice, csv_file(*rows(2))))
    assert "作成の処理を開始できませんでした。何も作成していません。" in page
    assert ClientImport.objects.get().status == "failed"
    assert not Firm.objects.filter(slug__startswith="client").exists()


def test_an_importer_no_longer_admin_when_the_task_runs_makes_nothing(tanaka, suzuki, practice):
    admin = PracticeMember.objects.get(user=tanaka, practice=practice)
    started = client_import.import_start(
        member=admin, data=csv_file(*rows(2)), file_name="x.csv", enqueue=False
    )
    PracticeMember.objects.filter(user=suzuki, practice=practice).update(role="admin")
    admin.role = PracticeMember.Role.STAFF
    admin.save(update_fields=["role"])
    done = client_import.run_import(started.pk)
    assert (done.status, done.error) == ("failed", "not_allowed")
    assert not Firm.objects.filter(slug__startswith="client").exists()
    page = signed_in_public_client(suzuki).get(
        f"/practices/{practice.pk}/clients/import/{started.pk}/"
    )
    assert "管理者ではなくなったため、作成を中止しました" in page.content.decode()


# --- 担当: the staff assigned to each client ------------------------------------------------


def test_the_staff_column_assigns_each_client_to_the_staff_named(tanaka, suzuki, practice):
    sato = make_user("sato@zeirishi.test")
    admin = PracticeMember.objects.get(user=tanaka, practice=practice)
    services.member_add(admin=admin, email=sato.email)
    console = signed_in_public_client(tanaka)
    data = csv_file(
        "顧問先1株式会社,client001,owner1@client1.test,free,suzuki@zeirishi.test",
        "顧問先2株式会社,client002,owner2@client2.test,free,SATO@zeirishi.test; suzuki@zeirishi.test",
        "顧問先3株式会社,client003,owner3@client3.test,free,",
        header=ENGLISH + ",staff",
    )
    page = page_of(console, upload(console, practice, data))
    assert "作成 3 社" in page

    def reached(user) -> set[str]:
        return set(Membership.objects.filter(user=user).values_list("firm__slug", flat=True))

    assert reached(suzuki) == {"client001", "client002"}
    assert reached(sato) == {"client002"}
    assert reached(tanaka) == {"client001", "client002", "client003"}
    with tenant_context(Firm.objects.get(slug="client002")):
        added = AccessLogEntry.objects.filter(action="member_add", detail__assignment=True)
        assert {e.detail["member"] for e in added} == {suzuki.email, sato.email}
    # Only suzuki's clients on suzuki's portfolio.
    portfolio = signed_in_public_client(suzuki).get("/portfolio/").content.decode()
    assert "顧問先1株式会社" in portfolio and "顧問先3株式会社" not in portfolio

    # The same file again, with client003 given to sato: only the new assignment is made.
    again = csv_file(
        "顧問先3株式会社,client003,owner3@client3.test,free,sato@zeirishi.test",
        header=ENGLISH + ",担当",
    )
    assert "作成済み 1 社" in page_of(console, upload(console, practice, again))
    assert reached(sato) == {"client002", "client003"}


def test_staff_not_of_this_practice_are_refused_by_row_and_nothing_is_made(
    tanaka, suzuki, practice
):
    make_user("stranger@elsewhere.test")
    console = signed_in_public_client(tanaka)
    data = csv_file(
        "顧問先1株式会社,client001,owner1@client1.test,free,suzuki@zeirishi.test",
        "顧問先2株式会社,client002,owner2@client2.test,free,stranger@elsewhere.test",
        f"顧問先3株式会社,client003,owner3@client3.test,free,{tanaka.email}",
        header=JAPANESE + ",担当",
    )
    response = upload(console, practice, data)
    assert response.status_code == 400
    errors = error_table(response.content.decode())
    assert list(errors) == [(3, "担当"), (4, "担当")]
    assert "stranger@elsewhere.test" in errors[(3, "担当")][0]
    assert not Firm.objects.filter(slug__startswith="client").exists()
