"""The CSV import's optional language column (言語 / language / 本人向けの言語, issue 18): codes,
the languages' own names and the common alternatives become the code; a value it does not
know is a row error listing the codes (never echoed); the template and the column list offer
it."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.custody.csv_import import parse_csv
from tenants.custody.models import Person
from tests.custody.test_csv_import import ENGLISH, upload, uploaded_id, valid
from tests.helpers import signed_in_firm_client
from tests.progress.helpers import confirm_import

CODES = "ja, ja-easy, en, vi, id, zh-hans, zh-hant, ko, fil, ne, my, pt-br"
WITH_LANGUAGE = ENGLISH + ",language"


def line(i: int, language: str) -> str:
    return f"employee,山田,{i}郎,ヤマダ,タロウ,1990-04-01,2020/4/1,{valid(i)},withholding_slip,{language}"


def csv_with_languages(*lines: str) -> bytes:
    return "\n".join([WITH_LANGUAGE, *lines]).encode()


def preview_errors(client, pk: str) -> str:
    page = client.get(f"/people/import/{pk}/").content.decode()
    return page.split("行ごとの誤り")[1].split("</table>")[0] if "行ごとの誤り" in page else ""


@pytest.mark.parametrize("heading", ["language", "LANGUAGE", "言語", "本人向けの言語"])
def test_the_language_column_is_read_under_its_headings(heading):
    header = ENGLISH.replace("purposes", heading)  # the language column where purposes were
    text = f"{header}\nemployee,山田,太郎,ヤマダ,タロウ,,,{valid(1)},zh-CN\n"
    parsed = parse_csv(text.encode("cp932"))
    assert parsed.errors == [] and parsed.rows[0].language == "zh-CN"  # read with the rows


def test_a_file_without_the_column_still_imports_without_languages():
    parsed = parse_csv(f"{ENGLISH}\nemployee,山田,太郎,ヤマダ,タロウ,,,{valid(1)},\n".encode())
    assert parsed.errors == [] and parsed.rows[0].language == ""


@pytest.mark.django_db
def test_codes_names_and_alternatives_are_imported_as_the_code(acme, harry):
    client = signed_in_firm_client(harry, acme)
    given = ["vi", "Tiếng Việt", "zh-CN", "zh_CN", "zh-TW", "pt", "pt-BR", "tl",
             "やさしい日本語", "EN", "", "ＫＯ"]  # fmt: skip
    data = csv_with_languages(*(line(i, value) for i, value in enumerate(given, start=1)))
    pk = uploaded_id(upload(client, data))
    preview = client.get(f"/people/import/{pk}/").content.decode()
    assert "誤りは見つかりませんでした" in preview
    # The first rows show each language named in itself.
    assert '<span lang="vi">Tiếng Việt</span>' in preview
    assert '<span lang="zh-Hans">简体中文</span>' in preview
    assert "12人を登録しました" in confirm_import(client, pk, follow=True).content.decode()
    with tenant_context(acme):
        stored = dict(Person.objects.values_list("given_name", "language"))
    assert [stored[f"{i}郎"] for i in range(1, len(given) + 1)] == [
        "vi", "vi", "zh-hans", "zh-hans", "zh-hant", "pt-br", "pt-br", "fil", "ja-easy", "en",
        "", "ko",
    ]  # fmt: skip


@pytest.mark.django_db
def test_an_unknown_language_is_a_row_error_listing_the_codes(acme, harry):
    client = signed_in_firm_client(harry, acme)
    data = csv_with_languages(line(1, "vi"), line(2, "French"), line(3, "zh"),
                              line(4, "123456789018"))  # fmt: skip
    pk = uploaded_id(upload(client, data))
    errors = preview_errors(client, pk)
    for row in (3, 4, 5):
        assert f"<td>{row}</td><td>言語</td><td>本人向けの言語が分かりません。" in errors
    assert errors.count(CODES) == 3 and "<td>2</td>" not in errors
    page = client.get(f"/people/import/{pk}/").content.decode()
    assert "French" not in page and "123456789018" not in page  # never echoed
    assert page.count("<td>?</td>") == 3  # the first rows show "?" for them
    assert 'value="confirm"' not in page
    with tenant_context(acme):
        assert not Person.objects.exists()


@pytest.mark.django_db
def test_another_firm_is_untouched(acme, harry, globex):
    client = signed_in_firm_client(harry, acme)
    confirm_import(client, uploaded_id(upload(client, csv_with_languages(line(1, "my")))))
    with tenant_context(acme):
        assert Person.objects.get().language == "my"
    with tenant_context(globex):
        assert not Person.objects.exists()


@pytest.mark.django_db
def test_the_template_and_the_column_list_offer_the_language(acme, harry):
    client = signed_in_firm_client(harry, acme)
    page = client.get("/people/import/").content.decode()
    assert '<th scope="row" lang="ja">言語</th><td><code>language</code></td>' in page
    assert "「zh-CN」「zh-TW」「pt」「tl」「やさしい日本語」なども使えます" in page
    assert "<caption>言語のコード</caption>" in page
    assert '<tr><td><code>zh-hant</code></td><td lang="zh-Hant">繁體中文</td></tr>' in page
    body = b"".join(client.get("/people/import/template.csv").streaming_content)
    heading = body.decode("utf-8-sig").splitlines()[0]
    assert heading.endswith(",従業員コード,言語,郵便番号,住所")  # the address columns follow it
    filled = body + f"従業員,山田,太郎,ヤマダ,タロウ,,,{valid(1)},,E001,Tiếng Việt\n".encode()
    parsed = parse_csv(filled)
    assert parsed.errors == [] and parsed.rows[0].language == "Tiếng Việt"
