"""The one error layer: which domain error is which HTTP answer, for the web and the API.

One table (RULES) maps a domain error to a status, a short machine `code` and a safe,
translated message (Japanese msgid, English in the .po) that says what happened, that
nothing was saved or shown, and what to do. Two doors use it:

- the API: `api_response` (tenants.api.errors.exception_handler, DRF's handler) answers
  JSON {"detail", "code"};
- the web: `ErrorLayerMiddleware.process_exception`, on firm hosts and the bare domain,
  answers the project's own error pages (frontend/templates/400.html, 403.html, 404.html)
  with the message. Views that already catch a refusal and redirect with a message keep
  doing so; the middleware answers what they let through.

Any exception with a callable `log_once` (authz.errors.Denied, duck-typed so this module does
not import authz) has it called first, outside any transaction, so the denial is in the
firm's log before the answer; its own `status`, `message` and `code` are used when it has
them. Anything not in the table is not answered here: it stays a 500 (we do not hide bugs),
whose page (500.html) shows nothing of the error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response

from billing.errors import BillingBlocked, BillingError, StripeUnavailable
from config.scrub import scrub
from keys.errors import CiphertextInvalid, FirmKeyRefused, KeyUnavailable
from objectstore.base import ObjectMissing, ObjectStoreUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.collection.errors import (
    AlreadyRequested,
    LinkExpired,
    LinkInvalid,
    LinkRevoked,
    LinkUsed,
    WrongState,
)
from tenants.custody.errors import (
    AlreadyImported,
    CustodyError,
    DuplicateMyNumber,
    HasDependents,
    IntegrityFailure,
    NoNumber,
    NotAllowed,
    PurposeNotNotified,
    UnderLegalHold,
    UnknownPurpose,
    UploadExpired,
)
from tenants.custody.log_filters import BadFilter
from tenants.custody.mynumber import InvalidMyNumber
from tenants.filings.errors import (
    ChoiceRefused,
    FilingGone,
    FilingNeedsReview,
    FilingRejected,
    FilingTooLarge,
    ReasonRefused,
)

logger = logging.getLogger(__name__)

Message = str | Promise

BAD_FILTER = _("絞り込みの値が正しくありません。条件を選び直してください。")
PROTECTED = _(
    "ほかのデータから参照されているため削除できませんでした。何も削除していません。"
    "参照しているデータを先に削除するか付け替えてから、もう一度お試しください。"
)
INVALID = _(
    "入力内容が正しくないため、何も保存していません。内容を確認して、もう一度お試しください。"
)
UNAVAILABLE = _(
    "鍵管理サービスまたはアクセス記録が利用できないため、処理できませんでした。"
    "番号は表示されておらず、何も保存していません。時間をおいて再度お試しください。"
)
FIRM_KEY_REFUSED = _(
    "この事業者が自社で管理する鍵（BYOK）へのアクセスが拒否されたため、処理できませんでした。"
    "番号は表示されていません。鍵の管理者に、鍵が有効で当サービスへの許可（グラント）があるか"
    "確認を依頼してください。"
)
STORE_UNAVAILABLE = _(
    "書類の保管場所に接続できないため、処理できませんでした。何も変更していません。"
    "時間をおいて再度お試しください。"
)
FILE_MISSING = _(
    "書類のファイルが見つかりませんでした。既に削除された可能性があります。何も変更していません。"
)
# The API's words for the key service and the log have been English since the API began
# (payroll integrations match on them); they stay, beside the machine code.
API_UNAVAILABLE = (
    "The number cannot be shown right now: the key service or the access log is unavailable. "
    "Nothing was revealed; try again later."
)
API_FIRM_KEY_REFUSED = (
    "The firm's own KMS key (bring your own key) refused access: the firm has disabled it or "
    "revoked the platform's grant. Nothing was revealed; the firm's key administrator must "
    "allow access again."
)


@dataclass(frozen=True)
class Rule:
    kind: type[BaseException]
    status: int | Callable[[Any], int]
    code: str | Callable[[Any], str]
    # None: the error's own `message`, which every custody error has and which is safe.
    message: Message | None = None
    api_message: str | None = None


def _billing_status(error: BillingBlocked) -> int:
    # 402: the refusal is about the plan or payment, not the caller's permissions. An
    # operator's suspension is not about payment: 403.
    return 403 if error.code == "suspended" else 402


# First match wins: the more specific kinds come first.
RULES: tuple[Rule, ...] = (
    Rule(BadFilter, 400, "bad_filter", BAD_FILTER),
    Rule(InvalidMyNumber, 400, lambda e: e.code or "invalid_number"),
    Rule(ValidationError, 400, "invalid", INVALID),
    Rule(ProtectedError, 409, "protected", PROTECTED),
    Rule(RestrictedError, 409, "protected", PROTECTED),
    Rule(FirmKeyRefused, 503, lambda e: e.code, FIRM_KEY_REFUSED, API_FIRM_KEY_REFUSED),
    Rule(KeyUnavailable, 503, "key_unavailable", UNAVAILABLE, API_UNAVAILABLE),
    Rule(AuditLogUnavailable, 503, "log_unavailable", UNAVAILABLE, API_UNAVAILABLE),
    Rule(ObjectStoreUnavailable, 503, "store_unavailable", STORE_UNAVAILABLE),
    # Raised where no service turned it into IntegrityFailure (which also logs the attempt).
    Rule(CiphertextInvalid, 409, "integrity_failure", IntegrityFailure.message),
    Rule(ObjectMissing, 404, "file_missing", FILE_MISSING),
    Rule(IntegrityFailure, 409, "integrity_failure"),
    Rule(BillingBlocked, _billing_status, lambda e: e.code),
    Rule(HasDependents, 409, "has_dependents"),
    Rule(UnderLegalHold, 409, "legal_hold"),
    Rule(DuplicateMyNumber, 409, "duplicate_number"),
    Rule(AlreadyRequested, 409, "already_requested"),
    Rule(WrongState, 409, "wrong_state"),
    Rule(AlreadyImported, 409, "already_imported"),
    Rule(UploadExpired, 410, "upload_expired"),
    Rule(LinkExpired, 410, "link_expired"),
    Rule(LinkRevoked, 410, "link_revoked"),
    Rule(LinkUsed, 410, "link_used"),
    Rule(LinkInvalid, 404, "link_invalid"),
    Rule(FilingRejected, 400, "filing_rejected"),
    Rule(FilingTooLarge, 413, "too_large"),
    Rule(FilingGone, 410, "filing_gone"),
    Rule(FilingNeedsReview, 409, "review_needed"),
    Rule(ChoiceRefused, 400, "choice_refused"),
    Rule(ReasonRefused, 400, "reason_refused"),
    Rule(UnknownPurpose, 400, "unknown_purpose"),
    Rule(PurposeNotNotified, 403, "purpose_not_notified"),
    Rule(NotAllowed, 403, "not_allowed"),
    Rule(NoNumber, 404, "no_number"),
    Rule(CustodyError, 400, "refused"),
    Rule(StripeUnavailable, 503, "billing_unavailable"),
    Rule(BillingError, 400, "billing_refused"),
)


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    message: str
    api_message: str | None = None
    # The API's body when it is more than {"detail", "code"} (field errors).
    api_body: dict[str, Any] | None = None


def log_denial(error: BaseException) -> None:
    """Write a duck-typed denial (authz.errors.Denied) to the firm's log, once. Called by
    both doors before they answer, outside any transaction (the view's blocks have ended)."""
    log_once = getattr(error, "log_once", None)
    if callable(log_once):
        log_once()


def _denial_answer(error: BaseException) -> Answer | None:
    if not callable(getattr(error, "log_once", None)):
        return None
    status = getattr(error, "status", None)
    status = status if isinstance(status, int) else 403
    message = getattr(error, "message", None) or (
        _("ページが見つかりません") if status == 404 else NotAllowed.message
    )
    return Answer(status, str(getattr(error, "code", "") or "denied"), str(message))


def _validation_body(error: ValidationError) -> dict[str, Any]:
    # The API has always answered field errors field by field. A message can quote the value
    # it refuses ("'x' is not a valid choice"): anything shaped like a number is scrubbed.
    if hasattr(error, "error_dict"):
        return {
            field: [scrub(str(m)) for m in messages]
            for field, messages in error.message_dict.items()
        }
    return {"detail": [scrub(str(m)) for m in error.messages]}


def answer(error: BaseException) -> Answer | None:
    """The answer for a domain error, or None (not ours: a bug, which stays a 500)."""
    denial = _denial_answer(error)
    if denial is not None:
        return denial
    if isinstance(error, DataError) and ("NUL" in str(error) or "Unicode escape" in str(error)):
        # A NUL byte in a raw request value that reached a query, as text or as \u0000 in a
        # JSON value: bad input, never storable (forms refuse it; a view reading
        # request.GET/POST directly may not). Any other DataError is a bug of ours: a 500.
        return Answer(400, "invalid", str(INVALID))
    rule = next((r for r in RULES if isinstance(error, r.kind)), None)
    if rule is None:
        return None
    status = rule.status(error) if callable(rule.status) else rule.status
    code = rule.code(error) if callable(rule.code) else rule.code
    message = rule.message if rule.message is not None else getattr(error, "message", INVALID)
    body: dict[str, Any] | None = None
    if isinstance(error, InvalidMyNumber):
        # The number endpoint's contract: the messages under the field, and why. They never
        # repeat the number.
        body = {"my_number": [str(m) for m in error.messages], "code": code}
        message = " ".join(str(m) for m in error.messages)
    elif isinstance(error, ValidationError):
        fields = _validation_body(error)
        # A field named `code` (a person's employee/payee code) keeps its messages: the
        # machine code would overwrite them. The answer is then DRF's own shape for a field
        # error, as the serializer gives for the same field.
        body = fields if "code" in fields else {**fields, "code": code}
    elif isinstance(error, FilingRejected):
        # Payroll software shows the user where its file is wrong.
        body = {"detail": str(message), "code": code, "row": error.row, "field": error.field}
    return Answer(status, code, str(message), rule.api_message, body)


def _answer_at_the_door(error: BaseException) -> Answer | None:
    """What both doors do: log a denial first (whatever else happens to it), then answer."""
    try:
        log_denial(error)
    except AuditLogUnavailable:
        # The denial must be on record before it is answered: without the log, a 503.
        return answer(AuditLogUnavailable())
    if isinstance(error, CiphertextInvalid):
        # Raised where no service could log who tried what (services raise IntegrityFailure
        # after logging). Only the class: the text names the firm and the record.
        logger.error("CIPHERTEXT_INVALID error=%s", type(error).__name__)
    return answer(error)


def status_of(error: BaseException, default: int = 400) -> int:
    """The status of a refusal a view catches itself, so its page answers as the API does."""
    found = answer(error)
    return found.status if found is not None else default


def answer_message(error: BaseException) -> str:
    """The safe message of a refusal a view catches itself."""
    found = answer(error)
    return found.message if found is not None else str(INVALID)


def api_response(error: BaseException) -> Response | None:
    """DRF's answer for a domain error: JSON {"detail", "code"} (or the field errors)."""
    found = _answer_at_the_door(error)
    if found is None:
        return None
    if found.api_body is not None:
        return Response(found.api_body, status=found.status)
    return Response(
        {"detail": found.api_message or found.message, "code": found.code}, status=found.status
    )


_TEMPLATES = {403: "403.html", 404: "404.html"}


class ErrorLayerMiddleware:
    """The web door of the error layer, last in MIDDLEWARE so it sees a view's exception
    first. A path under /api/ that raises outside DRF gets the API's JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        found = _answer_at_the_door(error)
        if found is None:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": found.api_message or found.message, "code": found.code},
                status=found.status,
            )
        template = _TEMPLATES.get(found.status, "400.html")
        return render(request, template, {"message": found.message}, status=found.status)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404 of both URL confs: a path nobody serves. Under /api/ the answer is the
    API's JSON, as for every other API error (a client parsing JSON must not get a page);
    elsewhere Django's own 404 page (frontend/templates/404.html)."""
    from django.views.defaults import page_not_found
    from rest_framework.exceptions import NotFound

    if request.path.startswith("/api/"):
        error = NotFound()
        return JsonResponse({"detail": str(error.detail), "code": error.default_code}, status=404)
    return page_not_found(request, exception)
