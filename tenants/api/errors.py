"""Service errors to HTTP: clear messages, never a number, never a stack trace."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from authz.errors import Denied
from billing.errors import BillingBlocked
from keys.errors import FirmKeyRefused, KeyUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.collection.errors import AlreadyRequested, WrongState
from tenants.custody.errors import (
    CustodyError,
    DuplicateMyNumber,
    NoNumber,
    NotAllowed,
    PurposeNotNotified,
    UnknownPurpose,
)
from tenants.custody.log_filters import BadFilter
from tenants.custody.mynumber import InvalidMyNumber

STATUS_BY_ERROR: list[tuple[type[Exception], int]] = [
    (DuplicateMyNumber, status.HTTP_409_CONFLICT),
    (AlreadyRequested, status.HTTP_409_CONFLICT),
    (WrongState, status.HTTP_409_CONFLICT),
    (UnknownPurpose, status.HTTP_400_BAD_REQUEST),
    (PurposeNotNotified, status.HTTP_403_FORBIDDEN),
    (NotAllowed, status.HTTP_403_FORBIDDEN),
    (NoNumber, status.HTTP_404_NOT_FOUND),
]
FIRM_KEY_REFUSED_MESSAGE = (
    "The firm's own KMS key (bring your own key) refused access: the firm has disabled it or "
    "revoked the platform's grant. Nothing was revealed; the firm's key administrator must "
    "allow access again."
)
UNAVAILABLE_MESSAGE = (
    "The number cannot be shown right now: the key service or the access log is unavailable. "
    "Nothing was revealed; try again later."
)


def exception_handler(exc, context):
    if isinstance(exc, Denied):
        # Written to the firm's log now if the refusal happened inside a transaction.
        exc.log_once()
        return Response({"detail": str(exc.message), "code": exc.code}, status=exc.status)
    if isinstance(exc, Http404):
        # get_object_or_404's text names the model in English ("No Person matches the given
        # query."): every missing or other firm's id gets the same plain, translated answer.
        exc = exceptions.NotFound()
    if isinstance(exc, BadFilter):
        return Response({"detail": "A filter value is malformed."}, status=400)
    if isinstance(exc, InvalidMyNumber):
        return Response(
            {"my_number": [str(m) for m in exc.messages], "code": exc.code},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, FirmKeyRefused):
        return Response(
            {"detail": FIRM_KEY_REFUSED_MESSAGE, "code": exc.code},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, (KeyUnavailable, AuditLogUnavailable)):
        return Response({"detail": UNAVAILABLE_MESSAGE}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, BillingBlocked):
        # 402: the refusal is about the plan or payment, not the caller's permissions; `code`
        # tells payroll software which ("plan_limit" or "read_only").
        # An operator's suspension is not about payment: 403.
        suspended = exc.code == "suspended"
        return Response(
            {"detail": str(exc.message), "code": exc.code},
            status=status.HTTP_403_FORBIDDEN if suspended else status.HTTP_402_PAYMENT_REQUIRED,
        )
    if isinstance(exc, CustodyError):
        code = next((s for kind, s in STATUS_BY_ERROR if isinstance(exc, kind)), 400)
        return Response({"detail": str(exc.message)}, status=code)
    return drf_exception_handler(exc, context)
