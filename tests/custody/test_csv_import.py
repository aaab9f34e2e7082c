"""CSV import: parsing (encodings, headings, limits), the sealed staging, the preview, and the
confirmation (all rows or none, once), by role and across firms."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.auditlog.verification import verify_chain
from tenants.custody.csv_import import parse_csv
from tenants.custody.errors import CsvRejected
from tenants.custody.models import ImportUpload, MyNumberRecord, Person
from tenants.custody.mynumber import check_digit
from tenants.custody.services import number_set
from tests.helpers import signed_in_firm_client
from tests.progress.helpers import confirm_import

ENGLISH = (
    "kind,family_name,given_name,family_name_kana,given_name_kana,birth_date,relationship_start,"
    "my_number,purposes"
)
JAPANESE = "区分,姓,名,姓（カナ）,名（カナ）,生年月日,入社日,マイナンバー,利用目的"


def valid(i: int) -> str:
    body = f"{40_000_000_000 + i:011d}"
    return body + str(check_digit(body))


def line(i: int, *, number: str | None = None, kind: str = "employee") -> str:
    number = valid(i) if number is None else number
    return f"{kind},山田,{i}郎,ヤマダ,タロウ,1990-04-01,2020/4/1,{number},withholding_slip"


def english_csv(*lines: str) -> bytes:
    return "\n".join([ENGLISH, *lines]).encode()


def upload(client, data: bytes, name: str = "people.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/people/import/", {"file": SimpleUploadedFile(name, data, "text/csv")})


def uploaded_id(response) -> str:
    assert response.status_code == 302, response.content.decode()[-1500:]
    return response["Location"].rstrip("/").split("/")[-1]


def log_text(firm) -> str:
    with tenant_context(firm):
        return json.dumps(
            [[e.action, e.result, e.detail, e.purpose] for e in AccessLogEntry.objects.all()],
            ensure_ascii=False,
        )


def no_number_in(text: str, numbers) -> None:
    for number in numbers:
        assert number not in text
        assert f"{number[:4]}-{number[4:8]}-{number[8:]}" not in text


# --- parsing --------------------------------------------------------------------------------


def test_utf8_with_english_headings():
    parsed = parse_csv(english_csv(line(1), line(2, number="")))
    assert parsed.errors == [] and parsed.encoding == "utf-8"
    first, second = parsed.rows
    assert (first.kind, first.given_name, first.my_number) == ("employee", "1郎", valid(1))
    assert first.birth_date == date(1990, 4, 1) and first.relationship_start == date(2020, 4, 1)
    assert first.purposes == ["withholding_slip"] and second.my_number == ""
    assert parsed.row_numbers == [2, 3]


def test_utf8_with_bom_and_windows_line_ends():
    data = b"\xef\xbb\xbf" + english_csv(line(1)).replace(b"\n", b"\r\n") + b"\r\n,,,,\r\n"
    parsed = parse_csv(data)
    assert parsed.encoding == "utf-8-sig" and parsed.errors == [] and len(parsed.rows) == 1
    assert parsed.rows[0].kind == "employee"  # the BOM did not stick to the first heading


def test_shift_jis_with_japanese_headings_kinds_and_half_width_kana():
    text = "\r\n".join([
        JAPANESE,
        f"従業員,山田,太郎,ﾔﾏﾀﾞ,ﾀﾛｳ,1990/4/1,2020-04-01,{valid(1)},withholding_slip|health_pension",
        f"支払先,佐藤,花子,サトウ,ハナコ,,,{valid(2)},fee_payment_record",
    ])  # fmt: skip
    parsed = parse_csv(text.encode("cp932"))
    assert parsed.encoding == "cp932" and parsed.errors == []
    taro, hanako = parsed.rows
    assert (taro.kind, taro.family_name_kana, taro.given_name_kana) == (
        "employee",
        "ヤマダ",
        "タロウ",
    )
    assert taro.purposes == ["withholding_slip", "health_pension"]
    assert hanako.kind == "payee" and hanako.birth_date is None


@pytest.mark.parametrize(
    "data",
    [
        english_csv(line(1)).decode().encode("utf-16"),  # Excel's "Unicode text"
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        ENGLISH.encode() + b"\n\x80\x81\xfc\xfd\xfe\xff,\x82",  # neither UTF-8 nor cp932
        b"\xef\xbb\xbf" + ENGLISH.encode() + b"\n\xff\xfe",  # a UTF-8 BOM, then not UTF-8
    ],
)
def test_undecodable_files_are_refused_with_a_clear_message(data):
    with pytest.raises(CsvRejected) as rejected:
        parse_csv(data)
    assert rejected.value.code == "encoding"
    assert "UTF-8" in str(rejected.value.message) and "Shift_JIS" in str(rejected.value.message)


def test_missing_columns_are_named():
    data = "区分,名,セイ,メイ\n従業員,太郎,ヤマダ,タロウ\n".encode()
    with pytest.raises(CsvRejected) as rejected:
        parse_csv(data)
    message = str(rejected.value.message)
    assert rejected.value.code == "columns"
    assert "姓" in message and "個人番号" in message and "区分" not in message.split(":")[1]


def test_row_errors_name_row_and_column_never_the_value():
    secret = valid(9)
    data = english_csv(
        line(1, kind=secret),
        f"employee,山田,{'長' * 101},ヤマダ,タロウ,1990-13-01,04/01/2020,{valid(2)},,{secret}",
    )
    parsed = parse_csv(data)
    found = {(e.row, e.field) for e in parsed.errors}
    assert {(3, "given_name"), (3, "birth_date"), (3, "relationship_start"), (3, "")} <= found
    no_number_in(repr(parsed.errors), [secret])


def test_a_file_over_the_row_limit_is_refused_without_reading_to_the_end(monkeypatch):
    from tenants.custody import csv_import

    body = "\n".join(line(i) for i in range(100_000))
    data = english_csv(body)
    assert len(data) < 10 * 1024 * 1024  # under the size limit: the row limit must catch it
    parsed_rows = 0
    real_row = csv_import._row

    def counting_row(*args, **kwargs):
        nonlocal parsed_rows
        parsed_rows += 1
        return real_row(*args, **kwargs)

    monkeypatch.setattr(csv_import, "_row", counting_row)
    with pytest.raises(CsvRejected) as rejected:
        parse_csv(data)
    assert rejected.value.code == "rows" and "20,000" in str(rejected.value.message)
    # It stops at the first row over the limit: the other 80,000 are never parsed.
    assert parsed_rows <= 20_001


def test_an_empty_file_and_a_heading_only_file_are_refused():
    for data in (b"", b"\n\n", ENGLISH.encode() + b"\n"):
        with pytest.raises(CsvRejected):
            parse_csv(data)


# --- the web flow ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_form_offers_the_template_and_documents_the_columns(acme, harry):
    client = signed_in_firm_client(harry, acme)
    page = client.get("/people/import/").content.decode()
    assert "ひな形CSVをダウンロード" in page and "<caption>" in page and "withholding_slip" in page
    assert "CSVで一括登録" in client.get("/people/").content.decode()
    response = client.get("/people/import/template.csv")
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and body.decode("utf-8-sig").startswith("区分,姓,名")
    assert parse_csv(body + "従業員,山田,太郎,ヤマダ,タロウ,,,,\n".encode()).errors == []


@pytest.mark.django_db
def test_preview_shows_row_field_and_reason_and_never_the_number(acme, harry):
    client = signed_in_firm_client(harry, acme)
    bad = valid(3)[:11] + str((int(valid(3)[11]) + 1) % 10)  # wrong check digit
    numbers = [valid(1), valid(2), bad]
    data = english_csv(line(1), line(2), line(3, number=bad), line(4, number=valid(1)))
    pk = uploaded_id(upload(client, data))
    page = client.get(f"/people/import/{pk}/").content.decode()
    errors = page.split("行ごとの誤り")[1].split("</table>")[0]
    assert "<td>4</td><td>個人番号</td><td>マイナンバーの検査用数字が一致しません" in errors
    assert "<td>5</td><td>個人番号</td><td>2行目と同じ番号です</td>" in errors
    assert "****-****-****" in page and 'value="confirm"' not in page  # nothing to confirm
    no_number_in(page, numbers)
    text = log_text(acme)
    assert '"import_upload"' in text and '"import_check"' in text and '"errors": 2' in text
    no_number_in(text, numbers)
    with tenant_context(acme):
        assert not Person.objects.exists()


@pytest.mark.django_db
def test_confirm_writes_every_row_and_its_log_entries(acme, harry):
    client = signed_in_firm_client(harry, acme)
    data = "\n".join([JAPANESE] + [line(i).replace("employee", "従業員") for i in range(1, 6)])
    pk = uploaded_id(upload(client, data.encode("cp932")))
    page = client.get(f"/people/import/{pk}/").content.decode()
    assert "誤りは見つかりませんでした" in page and 'value="confirm"' in page
    response = confirm_import(client, pk, follow=True)
    assert response.request["PATH_INFO"] == f"/people/import/{pk}/"  # the import's page
    assert "5人を登録しました" in response.content.decode()
    with tenant_context(acme):
        assert Person.objects.count() == 5 and MyNumberRecord.objects.count() == 5
        creates = AccessLogEntry.objects.filter(action="create", actor_email="harry@acme.test")
        assert creates.count() == 5 and all(e.detail["import"] for e in creates)
        assert verify_chain().ok
        staged = ImportUpload.objects.get(pk=pk)
        assert staged.imported_count == 5 and bytes(staged.ciphertext) == b""
        assert (staged.status, staged.progress_done, staged.progress_total) == ("done", 5, 5)
    no_number_in(log_text(acme), [valid(i) for i in range(1, 6)])


@pytest.mark.django_db
def test_a_file_with_one_bad_row_writes_nothing_even_when_confirmed(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = uploaded_id(upload(client, english_csv(line(1), line(2), line(3, kind="dependent"))))
    response = confirm_import(client, pk)
    assert response.status_code == 302 and response["Location"] == f"/people/import/{pk}/"
    with tenant_context(acme):
        assert not Person.objects.exists() and not MyNumberRecord.objects.exists()
        assert not AccessLogEntry.objects.filter(action="create").exists()
        assert ImportUpload.objects.get(pk=pk).imported_at is None
        assert ImportUpload.objects.get(pk=pk).status == "staged"  # refused before queuing


@pytest.mark.django_db
def test_a_number_registered_meanwhile_sends_the_confirmation_back_to_the_preview(
    acme, harry, alice
):
    client = signed_in_firm_client(harry, acme)
    pk = uploaded_id(upload(client, english_csv(line(1), line(2))))
    with tenant_context(acme):
        owner = Actor(user_id=alice.pk, email=alice.email, role=Role.OWNER)
        someone = Person.objects.create(kind="employee", family_name="先", given_name="客",
                                        family_name_kana="サキ", given_name_kana="キャク")  # fmt: skip
        number_set(actor=owner, firm=acme, person=someone, raw=valid(2), purpose_codes=None)
    response = confirm_import(client, pk, follow=True)  # the task finds it and fails
    page = response.content.decode()
    assert response.request["PATH_INFO"] == f"/people/import/{pk}/"
    assert "何も登録していません" in page and "既に別の方に登録されています" in page
    no_number_in(page, [valid(1), valid(2)])
    with tenant_context(acme):
        assert Person.objects.count() == 1
        assert ImportUpload.objects.get(pk=pk).status == "failed"


@pytest.mark.django_db
def test_a_double_submit_imports_once(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = uploaded_id(upload(client, english_csv(line(1), line(2))))
    assert confirm_import(client, pk).status_code == 302
    again = client.post(f"/people/import/{pk}/", {"action": "confirm"}, follow=True)
    assert "既に登録済みです" in again.content.decode()
    with tenant_context(acme):
        assert Person.objects.count() == 2
        assert AccessLogEntry.objects.filter(action="create").count() == 2


@pytest.mark.django_db
def test_only_the_uploader_or_an_owner_may_see_or_confirm_an_upload(acme, harry, carol, alice):
    pk = uploaded_id(upload(signed_in_firm_client(harry, acme), english_csv(line(1))))
    other = signed_in_firm_client(carol, acme)  # an accountant: may import, not this file
    assert other.get(f"/people/import/{pk}/").status_code == 302
    response = other.post(f"/people/import/{pk}/", {"action": "confirm"}, follow=True)
    assert "権限がありません" in response.content.decode()
    with tenant_context(acme):
        assert not Person.objects.exists()
        denied = AccessLogEntry.objects.filter(result="denied", actor_email="carol@tax.test")
        assert denied.count() == 2 and {e.action for e in denied} == {"import"}
    owner = signed_in_firm_client(alice, acme)
    assert confirm_import(owner, pk).status_code == 302
    with tenant_context(acme):
        assert Person.objects.count() == 1


@pytest.mark.django_db
def test_a_viewer_is_refused(acme, vera):
    client = signed_in_firm_client(vera, acme)
    response = client.get("/people/import/", follow=True)
    assert response.status_code == 403 and "許可されていません" in response.content.decode()
    assert "CSVで一括登録" not in response.content.decode()
    assert upload(client, english_csv(line(1))).status_code == 403
    with tenant_context(acme):
        assert not ImportUpload.objects.exists() and not Person.objects.exists()
        assert AccessLogEntry.objects.filter(result="denied", action="people_write").count() == 2


@pytest.mark.django_db
def test_another_firms_upload_and_an_unknown_one_are_404(acme, harry, globex, gina):
    pk = uploaded_id(upload(signed_in_firm_client(harry, acme), english_csv(line(1))))
    outsider = signed_in_firm_client(gina, globex)
    assert outsider.get(f"/people/import/{pk}/").status_code == 404
    assert outsider.post(f"/people/import/{pk}/", {"action": "confirm"}).status_code == 404
    client = signed_in_firm_client(harry, acme)
    assert client.get("/people/import/00000000-0000-4000-8000-000000000000/").status_code == 404
    with tenant_context(acme):
        assert not Person.objects.exists()


@pytest.mark.django_db
def test_the_staging_row_holds_no_plaintext(acme, harry):
    client = signed_in_firm_client(harry, acme)
    data = english_csv(line(1), line(2))
    pk = uploaded_id(upload(client, data))
    with tenant_context(acme):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM custody_importupload")
            stored = repr(cursor.fetchall())
        blob = bytes(ImportUpload.objects.get(pk=pk).ciphertext)
    assert len(blob) >= len(data)
    for secret in (valid(1), valid(2), "山田", "ヤマダ"):
        assert secret.encode() not in blob and secret not in stored
        assert secret.encode().hex() not in stored


@pytest.mark.django_db
def test_an_expired_upload_is_refused_and_wiped(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = uploaded_id(upload(client, english_csv(line(1))))
    with tenant_context(acme):
        ImportUpload.objects.filter(pk=pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(f"/people/import/{pk}/", {"action": "confirm"}, follow=True)
    assert response.redirect_chain[-1][0] == "/people/import/"
    assert "有効期限" in response.content.decode()
    with tenant_context(acme):
        assert not Person.objects.exists()
        assert bytes(ImportUpload.objects.get(pk=pk).ciphertext) == b""
    # The next upload deletes it.
    uploaded_id(upload(client, english_csv(line(2))))
    with tenant_context(acme):
        assert not ImportUpload.objects.filter(pk=pk).exists()


@pytest.mark.django_db
def test_cancel_deletes_the_upload(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = uploaded_id(upload(client, english_csv(line(1))))
    assert client.post(f"/people/import/{pk}/", {"action": "cancel"}).status_code == 302
    with tenant_context(acme):
        assert not ImportUpload.objects.exists() and not Person.objects.exists()
        assert AccessLogEntry.objects.filter(action="import_cancel").count() == 1


@pytest.mark.django_db
@override_settings(IMPORT_MAX_BYTES=2048)
def test_a_file_over_the_size_limit_is_refused_and_not_staged(acme, harry):
    client = signed_in_firm_client(harry, acme)
    response = upload(client, english_csv(*(line(i) for i in range(100))))
    assert response.status_code == 400
    assert "ファイルが大きすぎます" in response.content.decode()
    with tenant_context(acme):
        assert not ImportUpload.objects.exists()
        assert AccessLogEntry.objects.get(action="import_upload").detail["rejected"] == "bytes"


@pytest.mark.django_db
def test_a_refused_file_shows_its_reason_on_the_form(acme, harry):
    client = signed_in_firm_client(harry, acme)
    response = upload(client, "名,セイ\n太郎,ヤマダ\n".encode())
    assert response.status_code == 400
    assert "必要な列がありません" in response.content.decode()
    with tenant_context(acme):
        assert not ImportUpload.objects.exists()
