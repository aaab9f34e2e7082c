"""The person's own pages: open the link, acknowledge the purposes, give the number(s) and the
documents, or decline. No account: the link's token is the credential, and it works once."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from authz.actions import Action
from authz.web import allows
from keys.errors import KeyUnavailable
from objectstore import ObjectStoreUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.services import client_ip

from . import abroad, languages, services
from .errors import CollectionError, LinkUsed, MissingReason, ReasonHasNumber, SubmissionInvalid
from .models import CollectionRequest, DocumentKind
from .uploads import read_abroad_uploads, read_uploads

UNAVAILABLE = gettext_lazy(  # translated per request, in the reader's language
    "ただいま提出を受け付けられません。入力した内容は保存されていません。"
    "時間をおいて、同じリンクからもう一度お試しください。"
)


def _private(response: HttpResponse) -> HttpResponse:
    # The URL holds the link's token: keep it out of other sites' referrers, caches and
    # search engines. Not "no-referrer": Chromium then sends `Origin: null` with the form's
    # POST, which Django's CSRF check rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _actor(request: HttpRequest, item: CollectionRequest):
    return services.subject_actor(
        item,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        request_id=getattr(request, "request_id", ""),
    )


def _link_problem(request: HttpRequest, error: CollectionError,
                  item: CollectionRequest | None = None) -> HttpResponse:  # fmt: skip
    status = 200 if isinstance(error, LinkUsed) else 410
    response = languages.render_for_person(
        request, "collection/submit_problem.html", {"message": error.message},
        language=languages.for_person(request, item), status=status,
    )  # fmt: skip
    return _private(response)


@allows(Action.SUBMIT_BY_LINK)
@never_cache
def submit(request: HttpRequest, token: str) -> HttpResponse:
    try:
        item = services.request_by_token(token)
    except CollectionError as error:
        return _link_problem(request, error)
    # Every message below (refusals included) in the person's language.
    with translation.override(languages.for_person(request, item)):
        return _submit(request, item)


def _submit(request: HttpRequest, item: CollectionRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, item)
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
        return _page(request, item, errors={"page": [_too_large()]}, status=413)
    errors: dict[str, list[str]] = {}
    uploads = read_uploads(request, item.documents, errors)
    away = services.abroad_asked(item)
    uploads += read_abroad_uploads(
        request, [(person.pk, _abroad_inputs(needs)) for person, needs in away], errors
    )
    conditions = {
        person.pk: request.POST.get(f"condition_{person.pk}", "")
        for person, needs in away
        if needs.one_of
    }
    numbers = {
        person.pk: request.POST.get(f"number_{person.pk}", "")
        for person in services.people_asked(item)
    }
    try:
        if errors:
            raise SubmissionInvalid(errors)
        services.submission_submit(
            actor=_actor(request, item),
            firm=request.tenant,  # type: ignore[attr-defined]
            request=item,
            numbers=numbers,
            uploads=uploads,
            acknowledged=request.POST.get("acknowledge") == "on",
            language=languages.for_person(request, item),
            conditions=conditions,
        )
    except SubmissionInvalid as invalid:
        return _page(request, item, errors={**invalid.errors, **errors}, status=400,
                     posted=request.POST)  # fmt: skip
    except CollectionError as error:
        return _link_problem(request, error, item)
    except (KeyUnavailable, AuditLogUnavailable, ObjectStoreUnavailable):
        return _page(request, item, errors={"page": [str(UNAVAILABLE)]}, status=503)
    return _done_redirect(request, item)


def _done_redirect(request: HttpRequest, item: CollectionRequest) -> HttpResponse:
    # The done page has no token: it is told the language.
    return _private(redirect(f"{reverse('collection_submit_done')}?lang="
                             f"{languages.for_person(request, item)}"))  # fmt: skip


def _too_large() -> str:
    megabytes = settings.FILE_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return _(
        "送信するファイルの合計が大きすぎます（上限 %(mb)d MB）。"
        "写真を小さくするか、枚数を減らしてください。"
    ) % {"mb": megabytes}


def _abroad_inputs(needs: abroad.Requirement) -> list[str]:
    """The file inputs shown for a dependant abroad: the documents every case needs, and
    the student's visa document when an exception must be proved."""
    kinds = [str(kind) for kind in needs.required]
    if needs.one_of:
        kinds.append(abroad.AbroadDocument.STUDENT.value)
    return kinds


def _abroad_entries(item: CollectionRequest, errors: dict, posted) -> list[dict]:
    return [
        {
            "person": person,
            "needs": needs,
            "documents": [
                {
                    "kind": kind,
                    "field": f"abroad_{person.pk}_{kind}",
                    "camera": f"abroad_camera_{person.pk}_{kind}",
                    "label": DocumentKind(kind).label,
                    "errors": errors.get(f"abroad_{person.pk}_{kind}", []),
                }
                for kind in _abroad_inputs(needs)
            ],
            "condition_field": f"condition_{person.pk}",
            "condition": posted.get(f"condition_{person.pk}", ""),
            "condition_errors": errors.get(f"condition_{person.pk}", []),
        }
        for person, needs in services.abroad_asked(item)
    ]


def _page(request: HttpRequest, item: CollectionRequest, *, errors=None, status=200,
          posted=None):  # fmt: skip
    # `posted`: the form as sent, for the choices to show again; never read here from the
    # request itself (a body refused as too large must not be read).
    asked = services.people_asked(item)
    errors = errors or {}
    language = languages.for_person(request, item)
    response = languages.render_for_person(
        request,
        "collection/submit.html",
        {
            "item": item,
            "firm": request.tenant,  # type: ignore[attr-defined]
            "people": [
                {
                    "person": person,
                    "field": f"number_{person.pk}",
                    "errors": errors.get(f"number_{person.pk}", []),
                }
                for person in asked
            ],  # fmt: skip
            "documents": [
                {
                    "kind": kind,
                    "label": DocumentKind(kind).label,
                    "errors": errors.get(f"document_{kind}", []),
                }
                for kind in item.documents
            ],  # fmt: skip
            "abroad": _abroad_entries(item, errors, posted or {}),
            "abroad_year": item.documents_year,
            "errors": errors,
            "page_errors": errors.get("page", []),
            "has_errors": bool(errors),
            "max_mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024),
            "purposes": languages.purposes_for_person(item.purposes.all(), language),
        },
        language=language,
        status=status,
    )
    return _private(response)


@allows(Action.SUBMIT_BY_LINK)
@require_POST
@never_cache
def decline(request: HttpRequest, token: str) -> HttpResponse:
    try:
        item = services.request_by_token(token)
    except CollectionError as error:
        return _link_problem(request, error)
    with translation.override(languages.for_person(request, item)):
        return _decline(request, item)


def _decline(request: HttpRequest, item: CollectionRequest) -> HttpResponse:
    try:
        services.submission_decline(
            actor=_actor(request, item),
            request=item,
            reason=request.POST.get("reason", ""),
            language=languages.for_person(request, item),
        )
    except (MissingReason, ReasonHasNumber) as error:
        return _page(request, item, errors={"reason": [str(error.message)]}, status=400)
    except CollectionError as error:
        return _link_problem(request, error, item)
    except AuditLogUnavailable:
        return _page(request, item, errors={"page": [str(UNAVAILABLE)]}, status=503)
    return _done_redirect(request, item)


@allows(Action.SUBMIT_BY_LINK)
@never_cache
def done(request: HttpRequest) -> HttpResponse:
    return _private(languages.render_for_person(
        request, "collection/submit_done.html", {}, language=languages.for_person(request)))  # fmt: skip
