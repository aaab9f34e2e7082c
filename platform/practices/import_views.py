"""Bulk onboarding pages on the bare domain, for a practice's admins: the upload (with every
error by row and column when the file is refused), the template file, and the import's
page (its progress while the firms are made, then each row's outcome). Thin:
practices.client_import checks, stores and runs the import.

Someone who is not a member of the practice gets 404 on every page, as for a practice that
does not exist; a member who is not an admin is told that only admins may import."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from authz.actions import Action
from authz.web import allows
from config.progress import display as progress_display
from tenants.custody.csv_stream import csv_response
from tenants.custody.errors import CsvRejected
from tenants.custody.forms import BoundedMemoryUploadHandler

from . import client_import
from .models import ClientImport, PracticeMember
from .views import practice_seat

ERRORS_SHOWN = 500  # rows of the error table; the count says how many in all


def _adminpractice_seat(request: HttpRequest, practice_id: int) -> PracticeMember:
    """The user's admin seat in the practice; 404 for anyone else (an import lists the
    owners' emails of the clients)."""
    member = practice_seat(request, practice_id)
    if member.role != PracticeMember.Role.ADMIN:
        raise Http404
    return member


@allows(Action.PRACTICE_MANAGE)
@login_required
@csrf_exempt
def client_import_form(request: HttpRequest, practice_id: int) -> HttpResponse:
    """The upload form (GET) and the upload (POST). The upload handler must be in place
    before anything reads the body, CSRF's check included (csrf_protect below): the file is
    read in memory, and no further than the size limit."""
    handler = BoundedMemoryUploadHandler(request, limit=client_import.MAX_BYTES)
    request.upload_handlers = [handler]
    return _client_import_form(request, practice_id, handler)


@csrf_protect
def _client_import_form(
    request: HttpRequest, practice_id: int, handler: BoundedMemoryUploadHandler
) -> HttpResponse:
    member = practice_seat(request, practice_id)
    try:
        client_import.require_admin(member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("practice_detail", practice_id=practice_id)
    context = {
        "practice": member.practice,
        "columns": client_import.COLUMNS,
        "max_rows": client_import.MAX_ROWS,
        "max_mib": f"{client_import.MAX_BYTES / 1024 / 1024:g}",
        "billing_firm": member.practice.billing_firm,
        "imports": client_import.latest_imports(member.practice),
    }
    if request.method != "POST":
        return render(request, "practices/client_import.html", context)
    files = request.FILES  # reads the body, through the handler
    upload = files.get("file")
    try:
        if handler.too_large:
            raise client_import.too_large()
        if upload is None:
            raise CsvRejected(_("CSVファイルを選んでください。"), code="empty")
        started = client_import.import_start(
            member=member, data=upload.read(), file_name=upload.name or ""
        )
    except CsvRejected as rejected:
        context["error"] = str(rejected.message)
    except client_import.ImportRefused as refused:
        # The column by its heading, in the page's language (the file's may be either).
        labels = {name: _(heading) for name, heading in client_import.LABELS.items()}
        labels[""] = _("行全体")
        errors = refused.checked.errors
        context.update(
            error_rows=len({error.row for error in errors}),
            errors=[
                {"row": e.row, "field": labels.get(e.field, e.field), "reason": e.reason}
                for e in errors[:ERRORS_SHOWN]
            ],
            errors_hidden=max(0, len(errors) - ERRORS_SHOWN),
        )
    except ValidationError as error:  # no longer an admin
        messages.error(request, " ".join(error.messages))
        return redirect("practice_detail", practice_id=practice_id)
    else:
        return redirect("practice_client_import", practice_id=practice_id, import_id=started.pk)
    return render(request, "practices/client_import.html", context, status=400)


@allows(Action.PRACTICE_MANAGE)
@login_required
def client_import_template(request: HttpRequest, practice_id: int) -> HttpResponseBase:
    """An empty CSV with the Japanese headings, UTF-8 with a BOM for Excel."""
    _adminpractice_seat(request, practice_id)
    headings = [japanese for _name, japanese, _english in client_import.COLUMNS]
    return csv_response("client-firms-template.csv", headings, [], bom=True)


@allows(Action.PRACTICE_MANAGE)
@login_required
@never_cache
def client_import_detail(request: HttpRequest, practice_id: int, import_id: int) -> HttpResponse:
    """The import's progress while it runs (progress.js polls the status), then each row's
    outcome. A reload shows the same figures."""
    member = _adminpractice_seat(request, practice_id)
    found = get_object_or_404(ClientImport, pk=import_id, practice=member.practice)
    figures = client_import.import_status(found)
    url = reverse(
        "practice_client_import_status", kwargs={"practice_id": practice_id, "import_id": found.pk}
    )
    return render(
        request,
        "practices/client_import_detail.html",
        {
            "practice": member.practice,
            "found": found,
            "state": figures["status"],
            "failure": client_import.failure_message(found),
            "progress": progress_display(url, figures),
            "created": found.count("created"),
            "already": found.count("already"),
            "failed": found.count("failed"),
        },
    )


@allows(Action.PRACTICE_MANAGE)
@login_required
@never_cache
@require_GET
def client_import_status(request: HttpRequest, practice_id: int, import_id: int) -> JsonResponse:
    """The import's progress as JSON (config.progress.job_status), for progress.js."""
    member = _adminpractice_seat(request, practice_id)
    found = get_object_or_404(ClientImport, pk=import_id, practice=member.practice)
    return JsonResponse(client_import.import_status(found))
