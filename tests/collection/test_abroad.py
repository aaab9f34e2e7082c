"""Dependants who live abroad (国外居住親族, issue 18): marked through every door, never asked
for a number, asked for the deduction's documents instead (in the person's language), the
documents sealed, verified, kept on approval and deleted on their own date, listed for the
year end, and left blank in a filing without a question."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import translation
from django_tenants.utils import tenant_context

from accounts.api_tokens import api_token_create
from tenants.auditlog.models import AccessLogEntry
from tenants.collection import documents as document_files
from tenants.collection.models import CollectionRequest, Document, RequestStatus, SubmittedNumber
from tenants.custody.models import Person
from tenants.retention.models import DeletionRecord, LegalHold
from tenants.retention.services import retention_sweep
from tests.helpers import firm_host, signed_in_firm_client

from .conftest import PDF_BYTES, jpeg_bytes
from .factories import NUMBER, anonymous_client, committing, issue, make_person, token_of

pytestmark = pytest.mark.django_db
JST = ZoneInfo("Asia/Tokyo")
YEAR = 2025


def jpeg(name: str = "doc.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(), "image/jpeg")


def family(firm, *, language: str = "") -> dict[str, Person]:
    """An employee with a child at home (a number is asked) and two dependants abroad: a
    father of 55 in 2025 (30-69: an exception must be proved) and a niece of 12."""
    employee = make_person(firm, language=language)
    child = make_person(firm, kind="dependent", employee=employee, relationship="子",
                        given_name="太郎", given_name_kana="タロウ")  # fmt: skip
    father = make_person(firm, kind="dependent", employee=employee, relationship="父",
                         given_name="文雄", given_name_kana="フミオ", birth_date=date(1970, 5, 1),
                         lives_abroad=True, country="ベトナム")  # fmt: skip
    niece = make_person(firm, kind="dependent", employee=employee, relationship="姪",
                        given_name="蘭", given_name_kana="ラン", birth_date=date(2013, 3, 3),
                        lives_abroad=True, country="ベトナム")  # fmt: skip
    return {"employee": employee, "child": child, "father": father, "niece": niece}


def answer(people: dict[str, Person], **overrides) -> dict:
    employee, child, father, niece = (people[k] for k in ("employee", "child", "father", "niece"))
    data = {
        "acknowledge": "on",
        "document_number_check": jpeg("back.jpg"),
        "document_identity_check": SimpleUploadedFile("id.pdf", PDF_BYTES, "application/pdf"),
        f"number_{employee.pk}": NUMBER,
        f"number_{child.pk}": "000000000019",
        f"condition_{father.pk}": "student",
        f"abroad_{father.pk}_abroad_relationship": jpeg("family-register.jpg"),
        f"abroad_{father.pk}_abroad_remittance": SimpleUploadedFile(
            "remit.pdf", PDF_BYTES, "application/pdf"
        ),
        f"abroad_{father.pk}_abroad_student": jpeg("visa.jpg"),
        f"abroad_{niece.pk}_abroad_relationship": jpeg("birth.jpg"),
        f"abroad_camera_{niece.pk}_abroad_remittance": jpeg("card.jpg"),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- the model, through every door -------------------------------------------------------


def test_only_a_dependant_lives_abroad_through_every_door(acme, harry):
    employee = make_person(acme)
    web = signed_in_firm_client(harry, acme)
    base = {"family_name": "阮", "given_name": "文", "family_name_kana": "グエン",
            "given_name_kana": "ヴァン", "lives_abroad": "on", "country": "ベトナム"}  # fmt: skip
    refused = web.post("/people/new/", {**base, "kind": "employee"})
    assert refused.status_code == 200
    assert "国外居住（番号なし）は扶養親族にだけ設定できます" in refused.content.decode()
    created = web.post("/people/new/", {**base, "kind": "dependent", "employee": employee.pk,
                                        "relationship": "母"})  # fmt: skip
    assert created.status_code == 302
    with tenant_context(acme):
        mother = Person.objects.get(given_name="文")
        assert (mother.lives_abroad, mother.country) == (True, "ベトナム")
    page = web.get(f"/people/{mother.pk}/").content.decode()
    assert "国外居住（番号なし）" in page and "/people/abroad/" in page

    raw = api_token_create(firm=acme, user=harry, scopes=["read", "write"], name="payroll")[1]
    api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")
    person = {"family_name": "李", "given_name": "明", "family_name_kana": "リ",
              "given_name_kana": "ミン", "lives_abroad": True}  # fmt: skip
    bad = api.post("/api/v1/people/", {**person, "kind": "payee"}, content_type="application/json")
    assert bad.status_code == 400 and "lives_abroad" in bad.json()
    good = api.post("/api/v1/people/", {**person, "kind": "dependent", "employee": employee.pk,
                                        "country": "中国"}, content_type="application/json")  # fmt: skip
    assert good.status_code == 201, good.content
    assert (good.json()["lives_abroad"], good.json()["country"]) == (True, "中国")
    country_alone = api.patch(f"/api/v1/people/{good.json()['id']}/",
                              {"lives_abroad": False}, content_type="application/json")  # fmt: skip
    assert country_alone.status_code == 400 and "country" in country_alone.json()

    with tenant_context(acme), pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(kind="employee", family_name="x", given_name="y",
                              family_name_kana="x", given_name_kana="y", lives_abroad=True)  # fmt: skip


# --- the submission page, in the person's language ---------------------------------------


def test_the_page_asks_documents_in_place_of_numbers_in_vietnamese_and_stores_them_sealed(
    acme, harry, settings
):
    people = family(acme, language="vi")
    issued = issue(acme, harry, people["employee"], tax_year=YEAR)
    assert issued.request.tax_year == YEAR
    client = anonymous_client(acme)
    path = f"/s/{token_of(issued)}/"
    page = client.get(path).content.decode()
    father, niece = people["father"], people["niece"]
    assert f"number_{people['child'].pk}" in page
    assert f"number_{father.pk}" not in page and f"number_{niece.pk}" not in page
    with translation.override("vi"):
        heading = translation.gettext("4. 国外に住む扶養親族の書類")
        student = translation.gettext("留学している（留学ビザ等書類を付けてください）")
        pick = translation.gettext("当てはまるものを1つ選んでください。")
    assert heading.startswith("4. Giấy tờ") and heading in page
    assert student in page and f'name="condition_{father.pk}"' in page
    assert f"abroad_{father.pk}_abroad_student" in page
    assert f'name="condition_{niece.pk}"' not in page  # under 16: no exception to prove
    assert f"abroad_{niece.pk}_abroad_student" not in page

    missing = client.post(path, answer(people, **{
        f"condition_{father.pk}": None, f"abroad_{niece.pk}_abroad_relationship": None,
    }))  # fmt: skip
    assert missing.status_code == 400
    assert pick in missing.content.decode()
    with tenant_context(acme):
        assert not Document.objects.exists()

    student_without_visa = client.post(
        path, answer(people, **{f"abroad_{father.pk}_abroad_student": None})
    )
    assert student_without_visa.status_code == 400

    with committing():
        response = client.post(path, answer(people))
    assert response.status_code == 302
    with tenant_context(acme):
        request = CollectionRequest.objects.get(pk=issued.request.pk)
        assert request.status == RequestStatus.SUBMITTED
        assert request.abroad_conditions == {str(father.pk): "student"}
        assert set(SubmittedNumber.objects.values_list("person_id", flat=True)) == {
            people["employee"].pk, people["child"].pk,
        }  # fmt: skip
        abroad_docs = Document.objects.filter(person__isnull=False)
        assert sorted((d.person_id, d.kind, d.tax_year) for d in abroad_docs) == sorted([
            (father.pk, "abroad_relationship", YEAR), (father.pk, "abroad_remittance", YEAR),
            (father.pk, "abroad_student", YEAR), (niece.pk, "abroad_relationship", YEAR),
            (niece.pk, "abroad_remittance", YEAR),
        ])  # fmt: skip
        entries = AccessLogEntry.objects.filter(action="submit", person_id=father.pk)
        assert [(e.detail["abroad"], e.detail["documents"], e.detail["language"])
                for e in entries] == [(True, 3, "vi")]  # fmt: skip
        visa = abroad_docs.get(kind="abroad_student")
        stored = Path(settings.OBJECT_STORE_LOCAL_DIR, visa.storage_key).read_bytes()
        assert not stored.startswith(b"\xff\xd8\xff")  # sealed, not the JPEG
        assert document_files.load_document(acme, visa.id, visa.storage_key)[:3] == b"\xff\xd8\xff"


def test_the_handler_verifies_and_the_documents_stay_for_the_year(acme, harry, settings):
    people = family(acme)
    issued = issue(acme, harry, people["employee"], tax_year=YEAR)
    with committing():
        anonymous_client(acme).post(f"/s/{token_of(issued)}/", answer(people))
    handler = signed_in_firm_client(harry, acme)
    detail = handler.get(f"/collection/{issued.request.pk}/").content.decode()
    assert "親族関係書類" in detail and "留学（留学ビザ等書類）" in detail
    with tenant_context(acme):
        visa = Document.objects.get(kind="abroad_student")
    shown = handler.get(f"/collection/documents/{visa.pk}/")
    assert shown.status_code == 200 and shown.content[:3] == b"\xff\xd8\xff"

    with committing():
        approved = handler.post(f"/collection/{issued.request.pk}/approve/",
                                {"method": "my_number_card"})  # fmt: skip
    assert approved.status_code == 302
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="view_document",
                                             detail__kind="abroad_student").exists()  # fmt: skip
        # The number's documents go after approval (the default); the deduction's stay.
        assert not Document.objects.filter(person__isnull=True, deleted_at__isnull=True).exists()
        kept = Document.objects.filter(person__isnull=False, deleted_at__isnull=True)
        assert kept.count() == 5 and all(d.storage_key for d in kept)
        assert not Person.objects.get(pk=people["father"].pk).has_number

    listed = handler.get(f"/people/abroad/?year={YEAR}").content.decode()
    assert listed.count("受領済み") == 5 and listed.count("そろっています") == 2


# --- the year-end list ---------------------------------------------------------------------


def _document(firm, request, person, kind, year, status=RequestStatus.VERIFIED) -> Document:
    with tenant_context(firm):
        CollectionRequest.objects.filter(pk=request.pk).update(status=status)
        return Document.objects.create(request_id=request.pk, person=person, kind=kind,
                                       tax_year=year, content_type="image/jpeg", size=1,
                                       display_name="x.jpg", storage_key="")  # fmt: skip


def test_the_year_end_list_says_what_is_in_and_what_is_missing(acme, harry, vera):
    people = family(acme)
    unknown = make_person(acme, kind="dependent", employee=people["employee"], relationship="母",
                          given_name="不明", given_name_kana="フメイ", lives_abroad=True)  # fmt: skip
    issued = issue(acme, harry, people["employee"], tax_year=YEAR - 1)
    _document(acme, issued.request, people["niece"], "abroad_relationship", YEAR - 1)
    _document(acme, issued.request, people["niece"], "abroad_remittance", YEAR)

    viewer = signed_in_firm_client(vera, acme)
    people_page = viewer.get("/people/").content.decode()
    assert "/people/abroad/" in people_page and "不要（国外居住）" in people_page
    page = viewer.get(f"/people/abroad/?year={YEAR}")
    assert page.status_code == 200
    html = page.content.decode()
    father_row = html.split(f'data-testid="abroad-row-{people["father"].pk}"')[1].split("</tr>")[0]
    assert "55" in father_row and "30歳以上70歳未満" in father_row and "未回答" in father_row
    niece_row = html.split(f'data-testid="abroad-row-{people["niece"].pk}"')[1].split("</tr>")[0]
    assert "12" in niece_row and "別の年分のみ" in niece_row and f"{YEAR - 1}" in niece_row
    assert "受領済み" in niece_row
    unknown_row = html.split(f'data-testid="abroad-row-{unknown.pk}"')[1].split("</tr>")[0]
    assert "生年月日を登録してください" in unknown_row

    csv = viewer.get(f"/people/abroad.csv?year={YEAR}")
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("tax_year,person_id,family_name")
    niece_line = next(line for line in lines if f",{people['niece'].pk}," in line)
    assert "12,under_16" in niece_line and ",abroad_remittance,,abroad_relationship,," in niece_line
    assert NUMBER not in text
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="list", detail__abroad_year=YEAR).count() == 1
        download = AccessLogEntry.objects.get(action="abroad_list")
        assert download.detail == {"abroad_year": YEAR, "count": 3, "format": "csv"}
        assert download.actor_email == vera.email


def test_the_list_shows_only_the_firms_own_dependants(acme, globex, harry, gina):
    family(acme)
    with tenant_context(globex):
        boss = Person.objects.create(kind="employee", family_name="外", given_name="部",
                                     family_name_kana="ソト", given_name_kana="ブ")  # fmt: skip
        Person.objects.create(kind="dependent", employee=boss, family_name="海", given_name="外",
                              family_name_kana="ウミ", given_name_kana="ソト",
                              lives_abroad=True)  # fmt: skip
    other = signed_in_firm_client(gina, globex)
    own = other.get("/people/abroad/").content.decode()
    assert "海 外" in own and "文雄" not in own
    # Globex's owner on Acme's host: not a member, so nothing, not even that the page exists.
    for path in ("/people/abroad/", "/people/abroad.csv"):
        assert other.get(path, HTTP_HOST=firm_host(acme)).status_code == 404
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(detail__abroad_year__isnull=False).exists()


# --- retention ---------------------------------------------------------------------------


def test_the_documents_are_deleted_on_their_own_date_and_recorded(acme, harry, settings):
    people = family(acme)
    issued = issue(acme, harry, people["employee"], tax_year=YEAR)
    with committing():
        anonymous_client(acme).post(f"/s/{token_of(issued)}/", answer(people))
    with committing():
        signed_in_firm_client(harry, acme).post(f"/collection/{issued.request.pk}/approve/",
                                                {"method": "my_number_card"})  # fmt: skip
    with tenant_context(acme):
        keys = list(Document.objects.filter(person__isnull=False).values_list("storage_key",
                                                                              flat=True))  # fmt: skip
        LegalHold.objects.create(person=people["niece"], reason="調査", placed_by_email="x")
        # Kept 7 years from the day after January 10 of 2026: through 2033-01-10.
        with committing():
            retention_sweep(acme, now=datetime(2033, 1, 10, 12, tzinfo=JST))
        assert Document.objects.filter(person__isnull=False, deleted_at__isnull=True).count() == 5
        with committing():
            result = retention_sweep(acme, now=datetime(2033, 1, 11, 0, 30, tzinfo=JST))
        assert result.abroad_documents == 3  # the father's; the niece is held
        record = DeletionRecord.objects.get(data_types=["abroad_documents"])
        assert (record.person_id, record.documents_deleted, record.rule_code, record.due_on) == (
            people["father"].pk, 3, "abroad_dependant_documents", date(2033, 1, 11),
        )  # fmt: skip
        entry = AccessLogEntry.objects.get(action="delete", person_id=people["father"].pk)
        assert entry.detail["tax_years"] == [YEAR] and entry.detail["retention"] is True
        gone = Document.objects.filter(person=people["father"])
        assert all(d.deleted_at and not d.storage_key for d in gone)
        assert Document.objects.filter(person=people["niece"], deleted_at__isnull=True).count() == 2
    remaining = {p.name for p in Path(settings.OBJECT_STORE_LOCAL_DIR).rglob("*") if p.is_file()}
    assert len(remaining & {Path(k).name for k in keys}) == 2


def test_the_api_takes_the_documents_tax_year(acme, harry):
    employee = make_person(acme)
    raw = api_token_create(firm=acme, user=harry, scopes=["read", "write"], name="payroll")[1]
    api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")
    too_old = api.post("/api/v1/collection-requests/", {"person": employee.pk, "tax_year": 2000},
                       content_type="application/json")  # fmt: skip
    assert too_old.status_code == 400 and "tax_year" in too_old.json()
    with committing():
        made = api.post("/api/v1/collection-requests/", {"person": employee.pk, "tax_year": YEAR},
                        content_type="application/json")  # fmt: skip
    assert made.status_code == 201 and made.json()["tax_year"] == YEAR
    # Only the number's documents can be asked for by the request.
    refused = api.post("/api/v1/collection-requests/",
                       {"person": make_person(acme, given_name="次").pk,
                        "documents": ["abroad_relationship"]},
                       content_type="application/json")  # fmt: skip
    assert refused.status_code == 400
