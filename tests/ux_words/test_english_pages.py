"""Every page in English too: each page each kind of user reaches, rendered with English
chosen, shows no Japanese except the data itself (names of firms, people and purposes that
users typed in Japanese). A string left out of the catalogue, or written outside
{% translate %}, fails here with the page and the words."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from accounts.models import User
from firms.models import Firm
from tests.helpers import seed_demo_world, signed_in_firm_client, signed_in_public_client

pytestmark = pytest.mark.django_db(transaction=True)

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]+")
FIRM_PAGES = [
    "/", "/members/", "/settings/", "/settings/byok/", "/practices/", "/support-access/",
    "/api-tokens/", "/billing/", "/reports/supervision/", "/reports/investigation/",
    "/offboarding/", "/people/", "/people/new/", "/people/import/", "/people/abroad/",
    "/people/dependents-register/",
    "/purposes/", "/exports/",
    "/access-log/", "/collection/", "/collection/new/", "/retention/",
    "/retention/rules/", "/retention/deletions/", "/filings/", "/filings/strip/",
    "/compliance/",
]  # fmt: skip
PUBLIC_PAGES = ["/", "/pricing/", "/terms/", "/security/", "/for-accountants/", "/faq/",
                "/anchors/", "/accounts/login/", "/accounts/signup/",
                "/accounts/password/reset/"]  # fmt: skip
ACCOUNTANT_PAGES = ["/home/", "/portfolio/", "/portfolio/january/", "/portfolio/new-hires/",
                    "/portfolio/deletions/", "/practices/"]  # fmt: skip
OPERATOR_PAGES = ["/operator/", "/operator/firms/demo/", "/audit-exports/"]


@pytest.fixture
def demo(settings, tmp_path):
    return seed_demo_world(settings, tmp_path / "objects")


def data_words(firm: Firm) -> set[str]:
    """What users typed in Japanese: firm, practice, person and purpose names."""
    from practices.models import Practice
    from tenants.custody.models import Person, Purpose

    words = set(Firm.objects.values_list("name", flat=True))
    words |= set(Practice.objects.values_list("name", flat=True))
    with tenant_context(firm):
        for person in Person.objects.all():
            words |= {person.family_name, person.given_name, person.family_name_kana,
                      person.given_name_kana}  # fmt: skip
        words |= set(Purpose.objects.values_list("name_ja", flat=True))
    return {w for w in words if w}


def japanese_left(html: str, known: set[str]) -> list[str]:
    # Scripts, styles and the language picker (each language is named in itself) are not copy.
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    for _code, name in settings.PERSON_LANGUAGES:
        html = re.sub(rf"<option[^>]*>\s*{re.escape(name)}\s*</option>", "", html)
        # ... and wherever a page names a person's language in itself, marked with its lang.
        html = re.sub(rf"<(\w+)[^>]*\blang=\"[^\"]+\"[^>]*>\s*{re.escape(name)}\s*</\1>", "", html)
    # Japanese on purpose, marked as such for screen readers: the CSV headings the import
    # accepts, and the legal citations (the statutes' own names).
    html = re.sub(r"<(\w+)[^>]*\blang=\"ja\"[^>]*>.*?</\1>", "", html, flags=re.S)
    # Japanese quoted in English copy is a literal the user types (a CSV heading).
    html = re.sub(r"“[^”<]*”", "", html)
    for word in sorted(known, key=len, reverse=True):
        html = html.replace(word, "")
    return sorted(set(JAPANESE.findall(html)))


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def check(client, paths: list[str], known: set[str]) -> str:
    """The Japanese left on each page, one line per page ("" when there is none)."""
    leftovers = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found = japanese_left(response.content.decode(), known)
        if found:
            leftovers[path] = found
    report = "\n".join(f"{path}: {' | '.join(words)}" for path, words in leftovers.items())
    print(report)  # pytest truncates long assertion messages; -s shows every page
    return report


def filing_uploaded(client) -> str:
    """A 給与所得の源泉徴収票 file with demo people's names (one with a number, one without,
    one nobody is), for the filing's summary and review pages."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.filings.test_fill import row, upload

    data = upload(row("山田 花子"), row("伊藤 さくら"), row("山田 一郎"))
    response = client.post("/filings/", {"file": SimpleUploadedFile("f.csv", data)})
    assert response.status_code == 302, response.content.decode()[-800:]
    return response["Location"]


def test_firm_pages_in_english(demo):
    from tenants.collection.models import CollectionRequest
    from tenants.custody.models import Person

    owner = User.objects.get(email="owner@demo.test")
    client = english(signed_in_firm_client(owner, demo))
    with tenant_context(demo):
        person = Person.objects.filter(my_number__isnull=False).first()
        request = CollectionRequest.objects.first()
    filing = filing_uploaded(client)
    pages = [*FIRM_PAGES, f"/people/{person.pk}/", f"/people/{person.pk}/edit/",
             f"/collection/{request.pk}/", filing, filing + "review/"]  # fmt: skip
    assert check(client, pages, data_words(demo)) == ""


def test_public_accountant_and_operator_pages_in_english(demo, client):
    known = data_words(demo)
    client.defaults["HTTP_HOST"] = settings.BASE_DOMAIN
    assert check(english(client), PUBLIC_PAGES, known) == ""
    accountant = english(signed_in_public_client(User.objects.get(email="accountant@demo.test")))
    assert check(accountant, ACCOUNTANT_PAGES, known) == ""
    # The portfolio's upload form, where the firm lets accountants prepare filings, and its
    # refusal said on the firm's row.
    from tenants.workspace.models import FirmSettings

    with tenant_context(demo):
        FirmSettings.current()
        FirmSettings.objects.update(accountants_may_reveal=True)
    assert check(accountant, ["/portfolio/"], known) == ""
    refused = accountant.post("/portfolio/demo/filings/", {})
    assert refused.status_code == 400
    assert "Choose the CSV file to upload." in refused.content.decode()
    assert japanese_left(refused.content.decode(), known) == []
    # One ZIP of client files: where each went, and why one went nowhere.
    import io
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.filings.test_fill import row, upload

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("demo_375.csv", upload(row("山田 花子")))
        archive.writestr("unknown.csv", upload(row("山田 花子")))
    shared = accountant.post("/portfolio/filings/",
                             {"archive": SimpleUploadedFile("a.zip", buffer.getvalue())})  # fmt: skip
    assert shared.status_code == 200
    assert "1 file was received." in shared.content.decode()
    assert japanese_left(shared.content.decode(), known) == []
    operator = english(signed_in_public_client(User.objects.get(email="operator@demo.test")))
    assert check(operator, OPERATOR_PAGES, known) == ""
