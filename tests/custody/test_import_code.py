"""The CSV import's optional code column (従業員コード / code): the headings payroll software
writes, the same rules as the person form (row errors on the preview, never a 500), codes
unique within a kind in the file and against the firm, and the template and the column list
that say so."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.custody.csv_import import parse_csv
from tenants.custody.models import ImportUpload, Person
from tests.custody.test_csv_import import ENGLISH, upload, uploaded_id, valid
from tests.helpers import signed_in_firm_client
from tests.progress.helpers import confirm_import

NUMBER = "123456789018"  # a valid-looking My Number (its check digit agrees)
WITH_CODE = ENGLISH + ",code"


def line(i: int, code: str, *, kind: str = "employee") -> str:
    return f"{kind},山田,{i}郎,ヤマダ,タロウ,1990-04-01,2020/4/1,{valid(i)},withholding_slip,{code}"


def csv_with_codes(*lines: str) -> bytes:
    return "\n".join([WITH_CODE, *lines]).encode()


def preview_errors(client, pk: str) -> str:
    page = client.get(f"/people/import/{pk}/").content.decode()
    return page.split("行ごとの誤り")[1].split("</table>")[0] if "行ごとの誤り" in page else ""


def someone(firm, code: str, kind: str = "employee") -> None:
    with tenant_context(firm):
        Person.objects.create(kind=kind, code=code, family_name="徳川", given_name="家康",
                              family_name_kana="トクガワ", given_name_kana="イエヤス")  # fmt: skip


@pytest.mark.parametrize(
    "heading",
    ["code", "ＣＯＤＥ", "従業員コード", "従業員・支払先コード", "社員番号", "社員コード",
     "受給者番号", "支払先コード"],
)  # fmt: skip
def test_the_code_column_is_read_under_the_headings_payroll_software_writes(heading):
    header = ENGLISH.replace("purposes", heading)  # the code column where purposes were
    text = f"{header}\nemployee,山田,太郎,ヤマダ,タロウ,,,{valid(1)},Ｅ００１\n"
    parsed = parse_csv(text.encode("cp932"))
    assert parsed.errors == [] and parsed.rows[0].code == "Ｅ００１"  # checked with the rows


def test_a_file_without_the_column_still_imports_without_codes():
    parsed = parse_csv(f"{ENGLISH}\nemployee,山田,太郎,ヤマダ,タロウ,,,{valid(1)},\n".encode())
    assert parsed.errors == [] and parsed.rows[0].code == ""


@pytest.mark.django_db
def test_codes_are_imported_normalised_and_shown_on_the_list(acme, harry):
    client = signed_in_firm_client(harry, acme)
    data = csv_with_codes(line(1, "Ｅ００１"), line(2, " E002 "), line(3, ""),
                          line(4, "E001", kind="payee"))  # fmt: skip
    pk = uploaded_id(upload(client, data))
    preview = client.get(f"/people/import/{pk}/").content.decode()
    assert "誤りは見つかりませんでした" in preview and "<code>Ｅ００１</code>" not in preview
    assert "<code>E001</code>" in preview  # the first rows, with their code
    assert "4人を登録しました" in confirm_import(client, pk, follow=True).content.decode()
    with tenant_context(acme):
        assert sorted(Person.objects.values_list("kind", "code")) == [
            ("employee", ""), ("employee", "E001"), ("employee", "E002"), ("payee", "E001"),
        ]  # fmt: skip
    listing = client.get("/people/").content.decode()
    assert "<code>E001</code>" in listing and "<code>E002</code>" in listing


@pytest.mark.django_db
def test_bad_codes_are_row_errors_and_a_number_shaped_one_is_never_shown(acme, harry):
    someone(acme, "E009")
    client = signed_in_firm_client(harry, acme)
    data = csv_with_codes(
        line(1, "E001"),
        line(2, NUMBER),
        line(3, "1234-5678-9018"),
        line(4, "E 4"),
        line(5, "X" * 21),
        line(6, "e001"),  # letter case is kept: a different code
        line(7, "Ｅ００１"),  # the same as row 2 once normalised
        line(8, "E009"),  # held by someone already
        line(9, "E009", kind="payee"),  # another kind: fine
    )
    pk = uploaded_id(upload(client, data))
    errors = preview_errors(client, pk)
    assert (
        "<td>3</td><td>従業員コード</td><td>12桁続く数字はマイナンバーと見分けがつかない" in errors
    )
    assert "<td>4</td><td>従業員コード</td><td>12桁続く数字" in errors
    assert "<td>5</td><td>従業員コード</td><td>従業員・支払先コードに使えるのは" in errors
    assert "<td>6</td><td>従業員コード</td><td>従業員・支払先コードは20文字以内" in errors
    assert "<td>8</td><td>従業員コード</td><td>2行目と同じコードです</td>" in errors
    assert (
        "<td>9</td><td>従業員コード</td><td>従業員・支払先コード「E009」は既に別の従業員に"
        in errors
    )
    assert "<td>7</td>" not in errors and "<td>10</td>" not in errors
    assert "徳川" not in errors
    page = client.get(f"/people/import/{pk}/").content.decode()
    assert NUMBER not in page and "1234-5678-9018" not in page
    assert page.count("<code>?</code>") == 2  # the first rows show "?" for those two
    assert 'value="confirm"' not in page
    with tenant_context(acme):
        assert Person.objects.count() == 1


@pytest.mark.django_db
def test_a_code_registered_before_the_confirmation_writes_nothing(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = uploaded_id(upload(client, csv_with_codes(line(1, "E001"), line(2, "E002"))))
    someone(acme, "E002")
    page = confirm_import(client, pk, follow=True).content.decode()
    assert "何も登録していません" in page and "「E002」は既に別の従業員に使われています" in page
    with tenant_context(acme):
        assert Person.objects.count() == 1
        assert ImportUpload.objects.get(pk=pk).status == "failed"


@pytest.mark.django_db
def test_another_firms_codes_do_not_conflict(acme, harry, globex):
    someone(globex, "E001")
    client = signed_in_firm_client(harry, acme)
    pk = uploaded_id(upload(client, csv_with_codes(line(1, "E001"))))
    assert preview_errors(client, pk) == ""
    confirm_import(client, pk)
    with tenant_context(acme):
        assert Person.objects.get().code == "E001"


@pytest.mark.django_db
def test_the_template_and_the_column_list_offer_the_code(acme, harry):
    client = signed_in_firm_client(harry, acme)
    page = client.get("/people/import/").content.decode()
    assert '<th scope="row" lang="ja">従業員コード</th><td><code>code</code></td>' in page
    assert (
        "12桁続く数字は使えません" in page and "「社員番号」「受給者番号」「支払先コード」" in page
    )
    body = b"".join(client.get("/people/import/template.csv").streaming_content)
    heading = body.decode("utf-8-sig").splitlines()[0]
    assert ",利用目的,従業員コード," in heading  # the language column comes after it
    filled = body + f"従業員,山田,太郎,ヤマダ,タロウ,,,{valid(1)},,Ｅ００１\n".encode()
    parsed = parse_csv(filled)
    assert parsed.errors == [] and parsed.rows[0].code == "Ｅ００１"
