"""The register that lets employees leave numbers off the 扶養控除等申告書
(/people/dependents-register/, tenants.custody.dependents_register): masked for anyone who may
read people, with masked CSV and PDF downloads; printed with numbers (POST, NUMBER_EXPORT) as
an export for the 扶養控除等申告書 purpose, logged per person before the file is served."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from authz.actions import Action
from authz.decide import permits
from authz.web import allows
from config.error_layer import status_of
from keys.errors import KeyUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.services import Actor, actor_from_request

from . import dependents_register as registers
from .csv_stream import csv_response
from .errors import CustodyError
from .forms import RegisterPrintForm
from .models import Purpose
from .views import unavailable_message


def _actor(request: HttpRequest) -> Actor:
    return actor_from_request(request)


def _page(request: HttpRequest, *, form: RegisterPrintForm | None = None,
          status: int = 200) -> HttpResponse:  # fmt: skip
    register = registers.register_rows(with_numbers=False)
    registers.register_viewed(actor=_actor(request), register=register, output="page")
    lines = list(register.lines)
    return render(
        request,
        "custody/dependents_register.html",
        {
            "register": register,
            "not_notified": [line for line in lines if line.has_number and not line.notified],
            "without_address": sum(1 for line in lines if not line.address),
            "can_print": permits(request.membership.role, Action.NUMBER_EXPORT),  # type: ignore[attr-defined]
            "purpose": Purpose.objects.filter(code=registers.PURPOSE).first(),
            "form": form or RegisterPrintForm(),
        },
        status=status,
    )


@allows(Action.PEOPLE_VIEW)
@never_cache
def dependents_register(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _file(request: HttpRequest, register: registers.Register, output: str) -> HttpResponseBase:
    numbered = "-with-numbers" if register.with_numbers else ""
    name = f"dependents-register{numbered}-{_stamp()}"
    if output == "csv":
        return csv_response(f"{name}.csv", registers.CSV_COLUMNS,
                            registers.register_csv(register), bom=True)  # fmt: skip
    data = registers.register_pdf(
        register,
        firm_name=request.tenant.name,  # type: ignore[attr-defined]
        generated_at=timezone.now(),
        with_numbers=register.with_numbers,
    )
    return _pdf(data, f"{name}.pdf")


@allows(Action.PEOPLE_VIEW)
@require_GET
def dependents_register_download(request: HttpRequest, output: str) -> HttpResponseBase:
    """The masked register as CSV or PDF (the URL says which); logged once."""
    register = registers.register_rows(with_numbers=False)
    registers.register_viewed(actor=_actor(request), register=register, output=output)
    return _file(request, register, output)


@allows(Action.NUMBER_EXPORT)
@never_cache
@require_POST
def dependents_register_print(request: HttpRequest) -> HttpResponseBase:
    """The register with numbers, confirmed on the page: one `export` entry per person
    (purpose 扶養控除等申告書) is committed before the file is sent. A refusal is said on
    the page."""
    form = RegisterPrintForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    output = form.cleaned_data["format"]
    try:
        register = registers.register_rows(
            with_numbers=True,
            actor=_actor(request),
            firm=request.tenant,  # type: ignore[attr-defined]
            output=output,
        )
    except CustodyError as refused:
        messages.error(request, str(refused.message))
        return _page(request, form=form, status=status_of(refused, 403))
    except (KeyUnavailable, AuditLogUnavailable) as error:
        messages.error(request, unavailable_message(error))
        return _page(request, form=form, status=503)
    return _file(request, register, output)
