"""Bad input at every door: Unicode tricks in every number entry point, malformed and
oversized bodies, and header injection. Each gets a clear error, and nothing is stored."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.collection.models import CollectionRequest, RequestStatus, SubmittedNumber
from tenants.custody.models import ImportUpload, MyNumberRecord, Person
from tests.api.test_api import api, create_person, token
from tests.collection.factories import (
    anonymous_client,
    issue,
    make_person,
    submission,
    token_of,
)
from tests.helpers import PUBLIC_HOST, firm_host, signed_in_firm_client

pytestmark = [pytest.mark.django_db, pytest.mark.trust]
NUMBER = "123456789018"
WIDE = "１２３４５６７８９０１８"
# (name, what is typed, the message the person sees). The number is valid underneath each.
TRICKS = [
    ("zero-width space", "1234\u200b5678\u200b9018", "数字以外の文字"),
    ("zero-width joiner", "123456\u200d789018", "数字以外の文字"),
    ("byte order mark", "\ufeff123456789018", "数字以外の文字"),
    ("arabic-indic digit", "12345678901\u0668", "数字以外の文字"),
    ("devanagari digits", "\u0967\u0968\u0969456789018", "数字以外の文字"),
    ("fullwidth with a zero-width space", "１２３４\u200b５６７８９０１８", "数字以外の文字"),
    ("right-to-left override", "\u202e123456789018", "数字以外の文字"),
    ("too many fullwidth digits", WIDE + "９", "12桁"),
]


def no_number(text: str) -> None:
    assert NUMBER not in text and WIDE not in text


def nothing_stored(firm) -> None:
    with tenant_context(firm):
        assert not MyNumberRecord.objects.exists()
        assert not SubmittedNumber.objects.exists()


def test_web_form_refuses_unicode_tricks(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = make_person(acme).pk
    for name, typed, message in TRICKS:
        _web_form_refuses(client, acme, pk, name, typed, message)


def _web_form_refuses(client, acme, pk, name, typed, message):
    response = client.post(
        f"/people/{pk}/number/", {"my_number": typed, "purposes": ["withholding_slip"]}
    )
    assert response.status_code == 400, name
    page = response.content.decode()
    assert message in page
    no_number(page)
    assert typed not in page
    nothing_stored(acme)


def test_api_refuses_unicode_tricks(acme, harry):
    client = api(acme, token(acme, harry))
    person = create_person(client)
    for name, typed, message in TRICKS:
        _api_refuses(client, acme, person, name, typed, message)


def _api_refuses(client, acme, person, name, typed, message):
    response = client.put(
        f"/api/v1/people/{person['id']}/my-number/",
        {"my_number": typed},
        content_type="application/json",
    )
    assert response.status_code == 400, name
    assert response.json()["code"] in {"characters", "length"}
    assert message in " ".join(response.json()["my_number"])
    no_number(response.content.decode())
    nothing_stored(acme)


def test_csv_import_refuses_unicode_tricks(acme, harry):
    client = signed_in_firm_client(harry, acme)
    for name, typed, message in TRICKS:
        _csv_import_refuses(client, acme, name, typed, message)


def _csv_import_refuses(client, acme, name, typed, message):
    data = (
        "kind,family_name,given_name,family_name_kana,given_name_kana,my_number\n"
        f"employee,山田,花子,ヤマダ,ハナコ,{typed}\n"
    ).encode()
    response = client.post(
        "/people/import/", {"file": SimpleUploadedFile("people.csv", data, "text/csv")}
    )
    assert response.status_code == 302, name
    preview = client.get(response["Location"]).content.decode()
    assert message in preview and 'value="confirm"' not in preview
    no_number(preview)
    confirmed = client.post(response["Location"], {"action": "confirm"})
    assert confirmed.status_code in (302, 400)
    with tenant_context(acme):
        assert not Person.objects.exists()
    nothing_stored(acme)


def test_collection_page_refuses_unicode_tricks(acme, harry):
    person = make_person(acme)
    path = f"/s/{token_of(issue(acme, harry, person))}/"
    for name, typed, message in TRICKS:
        _collection_page_refuses(acme, path, person, name, typed, message)


def _collection_page_refuses(acme, path, person, name, typed, message):
    response = anonymous_client(acme).post(path, submission([person.pk], [typed]))
    assert response.status_code == 400, name
    page = response.content.decode()
    assert message in page and "まだ何も保存されていません" in page
    no_number(page)
    nothing_stored(acme)
    with tenant_context(acme):
        assert CollectionRequest.objects.get().status == RequestStatus.PENDING


# --- oversized and malformed bodies ---------------------------------------------------


def test_a_submission_over_the_upload_limit_gets_a_clear_413(acme, harry, settings):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    limit = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    assert limit == 42 * 1024 * 1024
    # The declared length alone decides: the page refuses before reading the body.
    response = anonymous_client(acme).post(
        f"/s/{token_of(issued)}/",
        submission([person.pk], [NUMBER]),
        CONTENT_LENGTH=str(limit + 1),
    )
    assert response.status_code == 413
    assert "大きすぎます（上限 42 MB）" in response.content.decode()
    nothing_stored(acme)
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(action="submit").exists()


def test_a_real_body_over_the_limit_is_refused_too(acme, harry, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    person = make_person(acme)
    issued = issue(acme, harry, person)
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024) + b"\n%%EOF\n")
    response = anonymous_client(acme).post(
        f"/s/{token_of(issued)}/",
        submission([person.pk], [NUMBER], document_identity_check=big),
    )
    assert response.status_code == 413 and "大きすぎます" in response.content.decode()
    nothing_stored(acme)


def test_form_fields_over_data_upload_max_memory_size_are_400_not_500(acme, harry, settings):
    client = signed_in_firm_client(harry, acme)
    pk = make_person(acme).pk
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(f"/people/{pk}/number/", {"my_number": NUMBER, "padding": padding})
    assert response.status_code == 400
    nothing_stored(acme)
    api_client = api(acme, token(acme, harry))
    person = create_person(api_client)
    response = api_client.put(
        f"/api/v1/people/{person['id']}/my-number/",
        {"my_number": NUMBER, "padding": padding},
        content_type="application/json",
    )
    assert response.status_code in (400, 413)
    nothing_stored(acme)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"my_number": "123456789018"'),
        ("application/json", b"\xff\xfe\x00garbage"),
        ("application/json", b'["123456789018"]'),
        ("application/json", b'{"my_number": ["123456789018"]}'),
        ("application/x-www-form-urlencoded", b"my_number=%ZZ%00"),
        ("multipart/form-data; boundary=nope", b"--broken\r\n\r\n123456789018"),
        ("multipart/form-data", b"no boundary at all"),
        ("text/xml", b"<my_number>123456789018</my_number>"),
    ],
)
def test_malformed_api_bodies_are_4xx_and_store_nothing(acme, harry, content_type, body):
    client = api(acme, token(acme, harry))
    person = create_person(client)
    response = client.generic(
        "PUT", f"/api/v1/people/{person['id']}/my-number/", body, content_type=content_type
    )
    assert 400 <= response.status_code < 500, response.status_code
    no_number(response.content.decode(errors="replace"))
    nothing_stored(acme)


@pytest.mark.parametrize(
    "body",
    [
        b'--x\r\nContent-Disposition: form-data; name="csv"; filename="a.csv"\r\n\r\nabc',
        b"--x--\r\n",
        b"\x00" * 100,
        b'--x\r\nContent-Disposition: form-data; name="csv"\r\n\r\n' + b"a" * 2000 + b"\r\n--x--",
    ],
)
def test_malformed_multipart_uploads_are_refused_cleanly(acme, harry, body):
    client = signed_in_firm_client(harry, acme)
    response = client.generic(
        "POST", "/people/import/", body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 400, response.status_code
    with tenant_context(acme):
        assert not ImportUpload.objects.exists() and not Person.objects.exists()
    person = make_person(acme)
    issued = issue(acme, harry, person)
    response = anonymous_client(acme).generic(
        "POST", f"/s/{token_of(issued)}/", body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 400, response.status_code
    nothing_stored(acme)


# --- header injection -------------------------------------------------------------------

CRLF = ["/%0d%0aSet-Cookie:%20evil=1", "/%0aLocation:%20https://evil.example/", "/\r\nX-Evil: 1"]


def no_split(response) -> None:
    for name, value in response.items():
        assert "\r" not in value and "\n" not in value, (name, value)
        assert name.lower() != "x-evil"
    assert "evil" not in response.cookies
    location = urlsplit(response.get("Location", ""))
    assert location.netloc in ("", PUBLIC_HOST) or location.netloc.endswith(
        (f".{PUBLIC_HOST}", f".{PUBLIC_HOST}:8000", f"{PUBLIC_HOST}:8000")
    ), response["Location"]


@pytest.mark.parametrize("value", CRLF)
def test_crlf_in_next_parameters_never_splits_a_header(acme, alice, value):
    from tests.helpers import signed_in_public_client

    public = signed_in_public_client(alice)
    for path in (f"/go/acme/?next={value}", f"/accounts/login/?next={value}"):
        response = public.get(path)
        assert response.status_code in (200, 302), (path, response.status_code)
        no_split(response)
    response = Client(HTTP_HOST=PUBLIC_HOST).post(
        "/i18n/setlang/", {"language": "en", "next": value}
    )
    assert response.status_code in (200, 302)
    no_split(response)
    firm = signed_in_firm_client(alice, acme)
    response = firm.post("/i18n/setlang/", {"language": "en", "next": value})
    assert response.status_code in (200, 302)
    no_split(response)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "localhost\r\nX-Evil: 1",
        "acme.localhost\r\nSet-Cookie: evil=1",
        "acme.localhost.evil.example",
        "acme.localhost@evil.example",
        "localhost:8000:1",
        "",
    ],
)
def test_a_bad_host_header_is_refused(acme, host):
    """Django refuses the host (DisallowedHost); django-tenants' middleware answers that with
    an empty 404 rather than Django's 400 (django_tenants.middleware.main). Either way: no
    page, no firm, no header taken from the Host."""
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code in (400, 404), (host, response.status_code)
    assert response.content in (b"",) or "アクメ" not in response.content.decode()
    no_split(response)
    assert Client(HTTP_HOST=host).get("/accounts/login/").status_code in (400, 404)


def test_crlf_in_an_uploaded_filename_is_never_reflected_into_a_header(acme, harry):
    client = signed_in_firm_client(harry, acme)
    data = b"kind,family_name,given_name,family_name_kana,given_name_kana,my_number\n"
    data += b"employee,a,b,c,d,123456789018\n"
    name = 'people.csv"\r\nSet-Cookie: evil=1\r\nX-Evil: 1'
    response = client.post("/people/import/", {"file": SimpleUploadedFile(name, data, "text/csv")})
    assert response.status_code in (302, 400)
    no_split(response)
    if response.status_code == 302:
        preview = client.get(response["Location"])
        no_split(preview)
        no_number(preview.content.decode())


def test_firm_host_is_bound_to_its_tenant(acme):
    assert Client(HTTP_HOST=firm_host(acme)).get("/accounts/login/").status_code in (200, 302, 404)
