"""Access rows of the isolation matrix (docs/threat-model.md):

- an accountant removed from a firm loses access at once: the very next request of their
  web session and of their API token is refused, and an audit export made before is no
  longer theirs to download;
- a viewer can never get a plaintext number: every route of the firm host and of the API
  (from the URL confs, so a new route is covered without editing this file), every method,
  with a body that names a purpose the people were notified of and every person, on firm
  data holding numbers in every place a number can be (stored numbers, a dependent's, one
  submitted through a collection link, one in a staged CSV import, ID document images).
  The same requests by the owner do reveal, so the requests are right.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.api_tokens import api_token_create
from accounts.models import Membership, Role
from audit.export_jobs import job_run
from audit.models import AuditExportJob
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.collection.models import CollectionRequest, Document
from tenants.custody import services as custody
from tenants.custody.models import ImportUpload, Person
from tenants.custody.mynumber import check_digit
from tenants.retention.models import LegalHold
from tenants.workspace.models import FirmSettings
from tests.api.test_api import ALL, api
from tests.collection.factories import anonymous_client, issue, submission, token_of
from tests.helpers import firm_host, signed_in_firm_client, signed_in_public_client
from tests.pdf import pdf_text

pytestmark = [pytest.mark.django_db, pytest.mark.trust]
PURPOSE = "withholding_slip"
SEEDER = Actor.system("test-seed")
ZERO_UUID = "00000000-0000-4000-8000-000000000000"
# Routes this matrix does not drive: signing out would end the session under test; the
# language switch and the hand-off have nothing to show; the person's collection page is
# reached with its link, not a membership (tests/collection).
SKIPPED = ("logout/", "i18n/", "auth/handoff/", "s/", "api/")
SEPARATORS = re.compile(r"[\s\-‐‑–—―−・,.]")


def number(index: int) -> str:
    body = f"{43_000_000_000 + index:011d}"
    return body + str(check_digit(body))


def walk(patterns, prefix: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name or ""


def firm_routes() -> list[tuple[str, str]]:
    return sorted(set(walk(get_resolver("config.urls_tenant").url_patterns)))


def api_routes() -> list[tuple[str, str]]:
    return sorted(set(walk(get_resolver("tenants.api.urls").url_patterns, "api/v1/")))


def concrete(route: str, ids: dict[tuple[str, str], str]) -> str:
    def value(match: re.Match) -> str:
        kind, name = match.group(1), match.group(2)
        prefix = route[: match.start()]
        for (want_prefix, want_name), found in ids.items():
            if name == want_name and prefix.startswith(want_prefix):
                return found
        return ZERO_UUID if kind == "uuid" else "1"

    return "/" + re.sub(r"<(\w+):(\w+)>", value, route)


def body_of(response) -> bytes:
    """What a response says, as bytes to search: a PDF's shown text is added after its raw
    bytes, since the Japanese font writes every string (digits too) as UTF-16."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    if response.get("Content-Type", "").startswith("application/pdf"):
        return response.content + pdf_text(response.content).encode()
    return response.content


def plaintext_in(content: bytes, numbers: list[str]) -> list[str]:
    """The numbers found in a response however they are written: full-width digits, or
    groups separated by spaces, hyphens or dots."""
    text = SEPARATORS.sub("", unicodedata.normalize("NFKC", content.decode("utf-8", "replace")))
    return [n for n in numbers if n in text]


@pytest.fixture
def custody_data(acme, alice, harry, settings, tmp_path):
    """Numbers in every place one can be, and the ids the routes take."""
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "export.pem")
    with tenant_context(acme):
        stored = []
        for i in range(3):
            person = custody.person_create(
                actor=SEEDER,
                data={"kind": "employee", "family_name": "山田", "given_name": f"{i}郎",
                      "family_name_kana": "ヤマダ", "given_name_kana": "タロウ"},
            )  # fmt: skip
            custody.number_set(actor=SEEDER, firm=acme, person=person, raw=number(i),
                               purpose_codes=None)  # fmt: skip
            stored.append(person)
        dependent = custody.person_create(
            actor=SEEDER,
            data={"kind": "dependent", "employee": stored[0], "relationship": "子",
                  "family_name": "山田", "given_name": "花子",
                  "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ"},
        )  # fmt: skip
        custody.number_set(actor=SEEDER, firm=acme, person=dependent, raw=number(3),
                           purpose_codes=None)  # fmt: skip
        waiting = custody.person_create(
            actor=SEEDER,
            data={"kind": "employee", "family_name": "佐藤", "given_name": "一郎",
                  "family_name_kana": "サトウ", "given_name_kana": "イチロウ"},
        )  # fmt: skip
        hold = LegalHold.objects.create(person=stored[2], reason="調査", placed_by_email="a@x")
    issued = issue(acme, harry, waiting)
    submitted = anonymous_client(acme).post(
        f"/s/{token_of(issued)}/", submission([waiting.pk], [number(4)])
    )
    assert submitted.status_code in (200, 302)
    handler = signed_in_firm_client(harry, acme)
    staged_csv = (
        f"区分,姓,名,姓（カナ）,名（カナ）,個人番号\n従業員,鈴木,次郎,スズキ,ジロウ,{number(5)}"
    )
    uploaded = handler.post(
        "/people/import/",
        {"file": SimpleUploadedFile("p.csv", staged_csv.encode(), "text/csv")},
    )
    assert uploaded.status_code == 302
    with tenant_context(acme):
        document = Document.objects.first()
        upload = ImportUpload.objects.get()
        request_pk = CollectionRequest.objects.get().pk
        people = list(Person.objects.values_list("pk", flat=True))
    assert document is not None
    token = api_token_create(firm=acme, user=alice, scopes=["read"], name="t")[0]
    ids = {
        ("people/import/", "pk"): str(upload.pk),
        ("people/", "pk"): str(stored[0].pk),
        ("collection/documents/", "pk"): str(document.pk),
        ("collection/paper/", "person_pk"): str(waiting.pk),
        ("collection/", "pk"): str(request_pk),
        ("retention/holds/", "pk"): str(hold.pk),
        ("members/", "membership_id"): str(Membership.objects.get(user=alice).pk),
        ("api-tokens/", "token_id"): str(token.pk),
        ("api/v1/people/", "pk"): str(stored[0].pk),
        ("api/v1/collection-requests/", "pk"): str(request_pk),
    }
    return {"ids": ids, "people": people, "numbers": [number(i) for i in range(6)]}


def drive_web(client: Client, routes, data) -> dict[tuple[str, str], bytes]:
    form = {"purpose": PURPOSE, "people": data["people"], "action": "confirm",
            "format": "csv", "method": "my_number_card"}  # fmt: skip
    seen = {}
    for route, _name in routes:
        path = concrete(route, data["ids"])
        seen[("get", path)] = body_of(client.get(path))
        seen[("post", path)] = body_of(client.post(path, form))
    return seen


def drive_api(client: Client, routes, data) -> dict[tuple[str, str], bytes]:
    payload = {"purpose": PURPOSE, "people": data["people"]}
    seen = {}
    for route, _name in routes:
        path = concrete(route, data["ids"])
        for method in ("get", "post", "put", "patch", "delete"):
            response = getattr(client, method)(path, payload, content_type="application/json")
            seen[(method, path)] = body_of(response)
    return seen


def pdf_bodies(client: Client, routes, data) -> dict[str, bytes]:
    bodies = {}
    for route, _name in routes:
        response = client.get(concrete(route, data["ids"]))
        if response.get("Content-Type", "").startswith("application/pdf"):
            bodies[route] = response.content
    return bodies


def content_types(client: Client, routes, data) -> set[str]:
    return {
        client.get(concrete(route, data["ids"]))["Content-Type"].split(";")[0]
        for route, _name in routes
    }


def test_a_viewer_never_gets_a_plaintext_number_from_any_route(acme, alice, vera, custody_data):
    numbers = custody_data["numbers"]
    web = signed_in_firm_client(vera, acme)
    routes = [(r, n) for r, n in firm_routes() if not r.startswith(SKIPPED)]
    assert len(routes) > 50
    leaks = {
        key: found for key, body in drive_web(web, routes, custody_data).items()
        if (found := plaintext_in(body, numbers))
    }  # fmt: skip
    assert not leaks, leaks
    # Nor an ID document image (the back of a My Number card carries the number).
    assert not {t for t in content_types(web, routes, custody_data) if t.startswith("image/")}
    # The PDFs a viewer may download (the masked 扶養控除等申告書 register, the compliance
    # documents) were searched above through their decoded text: prove that text was read.
    pdfs = pdf_bodies(web, routes, custody_data)
    assert pdfs, "the masked register PDF should reach a viewer"
    assert all(pdf_text(body) for body in pdfs.values()), sorted(pdfs)

    raw = api_token_create(firm=acme, user=vera, scopes=ALL, name="viewer, every scope")[1]
    leaks = {
        key: found for key, body in drive_api(api(acme, raw), api_routes(), custody_data).items()
        if (found := plaintext_in(body, numbers))
    }  # fmt: skip
    assert not leaks, leaks

    with tenant_context(acme):
        mine = AccessLogEntry.objects.filter(actor_email=vera.email)
        assert not mine.filter(action__in=("reveal", "export"), result="ok").exists()
        assert mine.filter(action="reveal", result="denied").exists()
        assert mine.filter(action="export", result="denied").exists()
        # The viewer changed nothing either.
        assert Person.objects.count() == len(custody_data["people"])
        assert Person.objects.filter(my_number__isnull=False).count() == 4

    # Control: the owner, with the same requests on the number routes, does get plaintext,
    # so the requests above were ones that reveal.
    owner_web = signed_in_firm_client(alice, acme)
    number_routes = [(r, n) for r, n in routes if n in ("person_reveal", "exports")]
    assert len(number_routes) == 2
    posted = [b for (method, _p), b in drive_web(owner_web, number_routes, custody_data).items()
              if method == "post"]  # fmt: skip
    assert len(posted) == 2 and all(plaintext_in(b, numbers) for b in posted)
    owner_api = api(acme, api_token_create(firm=acme, user=alice, scopes=ALL, name="o")[1])
    api_number_routes = [(r, n) for r, n in api_routes() if n in ("api-reveal", "api-exports")]
    posts = {k: b for k, b in drive_api(owner_api, api_number_routes, custody_data).items()
             if k[0] == "post"}  # fmt: skip
    assert len(posts) == 2 and all(plaintext_in(b, numbers) for b in posts.values())


def test_an_accountant_removed_from_a_firm_loses_access_at_once(acme, alice, carol, custody_data):
    with tenant_context(acme):
        settings_row = FirmSettings.current()
        settings_row.accountants_may_reveal = True
        settings_row.save()
    person = custody_data["ids"][("people/", "pk")]
    web = signed_in_firm_client(carol, acme)
    raw = api_token_create(firm=acme, user=carol, scopes=ALL, name="payroll")[1]
    token_client = api(acme, raw)
    public = signed_in_public_client(carol)
    today = timezone.localdate().isoformat()
    # Before: carol works in the firm, on the web, through the API and on the bare domain.
    assert web.get("/people/").status_code == 200
    assert web.post(f"/people/{person}/reveal/", {"purpose": PURPOSE}).status_code == 200
    assert token_client.get("/api/v1/people/").status_code == 200
    assert public.get(f"/go/{acme.slug}/").status_code == 302
    public.post("/audit-exports/", {"firms": [acme.pk], "since": today, "until": today,
                                    "format": "jsonl"})  # fmt: skip
    job = AuditExportJob.objects.get(requested_by=carol)
    job_run(str(job.pk))
    assert public.get(f"/audit-exports/{job.pk}/download/").status_code == 200

    owner = signed_in_firm_client(alice, acme)
    membership = Membership.objects.get(user=carol, firm=acme)
    assert owner.post(f"/members/{membership.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(user=carol, firm=acme).exists()

    # The very next request of each is refused, and says nothing about the firm.
    for response in (
        web.get("/people/"),
        web.post(f"/people/{person}/reveal/", {"purpose": PURPOSE}),
        web.get("/access-log.csv"),
    ):
        assert response.status_code == 404
        assert acme.name not in response.content.decode()
    for response in (
        token_client.get("/api/v1/people/"),
        token_client.post(f"/api/v1/people/{person}/reveal/", {"purpose": PURPOSE},
                          content_type="application/json"),
        token_client.post("/api/v1/exports/", {"purpose": PURPOSE},
                          content_type="application/json"),
    ):  # fmt: skip
        assert response.status_code == 401
        assert not plaintext_in(response.content, custody_data["numbers"])
    assert public.get(f"/go/{acme.slug}/").status_code == 404
    # An export of the firm's log made while she was a member is no longer hers to fetch.
    refused = public.get(f"/audit-exports/{job.pk}/download/", follow=True)
    assert "権限がなくなったため" in refused.content.decode()
    assert refused.redirect_chain and refused["Content-Type"].startswith("text/html")
    assert acme.name not in public.get("/audit-exports/").content.decode().split("<table")[0]
    with tenant_context(acme):
        after = AccessLogEntry.objects.filter(actor_email=carol.email, action="reveal")
        assert after.count() == 1  # the one before the removal
    assert Client(HTTP_HOST=firm_host(acme)).get("/people/").status_code == 302


def test_a_removed_members_token_stays_dead_when_they_are_invited_back(acme, alice, carol):
    raw = api_token_create(firm=acme, user=carol, scopes=["read"], name="payroll")[1]
    owner = signed_in_firm_client(alice, acme)
    membership = Membership.objects.get(user=carol, firm=acme)
    owner.post(f"/members/{membership.pk}/remove/")
    assert api(acme, raw).get("/api/v1/people/").status_code == 401
    Membership.objects.create(user=carol, firm=acme, role=Role.VIEWER)  # invited back
    assert api(acme, raw).get("/api/v1/people/").status_code == 401
