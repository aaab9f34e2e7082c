"""Firm pages for filings (docs/filings.md, "Pages"): the list with the upload, a filing's
summary, its review, the download filled, deletion, and the person's copy (strip). Thin:
tenants.filings.workflow checks roles, seals, plans and logs; the views turn its refusals
into messages on the page. No number is ever put in a URL, a message or a log line: the
pages show names, row and field numbers and counts only."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from authz.actions import Action
from authz.decide import permits
from authz.web import allows
from config.error_layer import status_of
from keys.errors import KeyUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.services import Actor, actor_from_request, log_access
from tenants.custody.errors import CustodyError
from tenants.custody.forms import BoundedMemoryUploadHandler
from tenants.custody.models import Person, PersonKind, Purpose
from tenants.custody.views import unavailable_message

from . import labels, workflow
from .errors import FilingGone, FilingTooLarge
from .forms import FilingFileForm
from .layouts import Layout, Slot
from .models import Filing
from .records import holds_numbers, parse
from .services import NEEDS_CHOICE, PAYEE_LAYOUTS, PICKABLE, Plan, _name_fields

LIST_SIZE = 50  # filings per page of the list
REVIEW_SIZE = 100  # review lines per page
PICK_INLINE = 200  # up to this many people of a kind, every review line lists them all
FOUND_MAX = 50  # people a name search lists
CHARSETS = {"cp932": "Windows-31J", "utf-8": "utf-8"}


def _actor(request: HttpRequest) -> Actor:
    return actor_from_request(request)


def _firm(request: HttpRequest) -> Any:
    return request.tenant  # type: ignore[attr-defined]


def bounded(request: HttpRequest) -> BoundedMemoryUploadHandler:
    """The upload stays in memory (it may hold names, amounts and numbers), never in a
    temporary file, and reading stops past the largest file a filing may be. Must be set
    before anything reads the body, CSRF's check included (csrf_protect runs after). The
    portfolio's upload (practices.views) uses it too."""
    handler = BoundedMemoryUploadHandler(request, limit=settings.FILING_MAX_BYTES)
    request.upload_handlers = [handler]
    return handler


def _get(request: HttpRequest, pk: Any) -> Filing:
    """This firm's filing, or 404 (another firm's id is not in this schema)."""
    try:
        return workflow.get(actor=_actor(request), filing_id=pk)
    except Filing.DoesNotExist:
        raise Http404 from None


def _layout(filing: Filing) -> Layout | None:
    return labels.layout_of(filing.layout_code, filing.field_count)


def attachment(data: bytes, filename: str, *, ascii_name: str, charset: str = "") -> HttpResponse:
    """A CSV download that no cache keeps. `filename` may be Japanese (RFC 6266
    filename*), `ascii_name` is for clients that read only filename."""
    response = HttpResponse(
        data, content_type=f"text/csv; charset={charset}" if charset else "text/csv"
    )
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    response["Cache-Control"] = "no-store"
    return response


# --- the list and the upload --------------------------------------------------------------


@allows(Action.FILING_PREPARE)
@never_cache
@csrf_exempt
def filings(request: HttpRequest) -> HttpResponse:
    """The firm's filings (GET) and a new upload (POST)."""
    return _filings(request, bounded(request))


@csrf_protect
def _filings(request: HttpRequest, handler: BoundedMemoryUploadHandler) -> HttpResponse:
    if request.method != "POST":
        return _list_page(request, form=FilingFileForm())
    filing, form, error, status = receive_upload(
        request, handler, actor=_actor(request), firm=_firm(request)
    )
    if filing is None:
        return _list_page(request, form=form, error=error, status=status)
    url = reverse("filing", kwargs={"pk": filing.pk})
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        # upload.js sent it (to show the upload's progress): it opens the page itself.
        return JsonResponse({"location": url})
    return redirect(url)


def receive_upload(
    request: HttpRequest, handler: BoundedMemoryUploadHandler, *, actor: Actor, firm: Any
) -> tuple[Filing | None, FilingFileForm, str, int]:
    """The upload of this request (read through `handler`, set by `bounded`) received for
    `firm` as `actor`, in the firm's schema: (the filing, the form, "", 302) when the file was
    taken, else (None, the form to show again, why, the status). A refused file is logged in
    the firm's log (workflow.receive; here when it was too large to read), nothing kept. The
    firm's page and the portfolio's upload (practices.views) both call it."""
    files = request.FILES  # reads the body, through the handler
    if handler.too_large:
        _log_too_large(actor, int(request.META.get("CONTENT_LENGTH") or 0))
        return None, FilingFileForm(), str(FilingTooLarge.message), status_of(FilingTooLarge())
    form = FilingFileForm(request.POST, files)
    if not form.is_valid():
        return None, form, form_error(form), 400
    try:
        filing = workflow.receive(actor=actor, firm=firm, data=form.cleaned_data["file"].read())
    except CustodyError as refused:
        return None, FilingFileForm(), str(refused.message), status_of(refused)
    except (KeyUnavailable, AuditLogUnavailable) as error:
        return None, FilingFileForm(), unavailable_message(error), 503
    return filing, form, "", 302


def form_error(form: FilingFileForm) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def _log_too_large(actor: Actor, byte_count: int) -> None:
    """As workflow.receive logs a refused file: the refusal, its size, nothing kept."""
    with transaction.atomic():
        log_access(actor=actor, action="filing_upload",
                   detail={"rejected": "FilingTooLarge", "bytes": byte_count, "row": None})  # fmt: skip


def _list_page(request: HttpRequest, *, form: FilingFileForm, error: str | None = None,
               status: int = 200) -> HttpResponse:  # fmt: skip
    workflow.purge_expired(_firm(request))  # a copy past its time shows as deleted
    page = Paginator(Filing.objects.all(), LIST_SIZE).get_page(request.GET.get("page"))
    for filing in page:
        filing.form_name = labels.form_name(filing.layout_code)  # type: ignore[attr-defined]
        filing.edition_name = labels.edition_name(filing.edition)  # type: ignore[attr-defined]
    role = request.membership.role  # type: ignore[attr-defined]
    return render(
        request,
        "filings/list.html",
        {
            "page": page,
            "form": form,
            "error": error,
            "max_mib": f"{settings.FILING_MAX_BYTES / 1024 / 1024:g}",
            "keep_hours": settings.FILING_KEEP_HOURS,
            "forms": [(code, str(name)) for code, name in labels.FORMS.items()],
            "can_strip": permits(role, Action.FILING_STRIP),
        },
        status=status,
    )


# --- one filing ---------------------------------------------------------------------------


def _look(request: HttpRequest, filing: Filing) -> tuple[Plan | None, int]:
    """Plan the filing again (the vault may have changed): (plan, status). A copy that is
    gone is said so on the page, and its deletion is recorded now if its time is over."""
    if filing.deleted_at is not None:
        messages.info(request, str(FilingGone.message))
        return None, 200
    try:
        return workflow.replan(firm=_firm(request), filing=filing), 200
    except FilingGone as gone:
        workflow.purge_expired(_firm(request))
        filing.refresh_from_db()
        messages.info(request, str(gone.message))
        return None, 200  # the page is there: it is the deletion record now
    except (KeyUnavailable, AuditLogUnavailable) as error:
        messages.error(request, unavailable_message(error))
        return None, 503


@allows(Action.FILING_PREPARE)
@never_cache
def filing(request: HttpRequest, pk) -> HttpResponse:
    """A filing's summary: what it is, what will be filled, what waits for the handler."""
    found = _get(request, pk)
    _plan, status = _look(request, found)
    return _summary_page(request, found, status=status)


def _summary_page(request: HttpRequest, found: Filing, *, status: int = 200) -> HttpResponse:
    layout = _layout(found)
    purpose = Purpose.objects.filter(code=layout.purpose).first() if layout else None
    counts = Counter(item["reason"] for item in found.review)
    role = request.membership.role  # type: ignore[attr-defined]
    return render(
        request,
        "filings/summary.html",
        {
            "filing": found,
            "form_name": labels.form_name(found.layout_code),
            "edition_name": labels.edition_name(found.edition),
            "purpose": purpose,
            "reasons": [
                (labels.reason_name(reason), counts[reason], reason in NEEDS_CHOICE)
                for reason in labels.REASONS
                if counts[reason]
            ],
            "pending": found.pending_count,
            "gone": found.deleted_at is not None,
            "can_download": permits(role, Action.NUMBER_EXPORT),
            "can_strip": permits(role, Action.FILING_STRIP),
        },
        status=status,
    )


@allows(Action.NUMBER_EXPORT)
@never_cache
@require_POST
def filing_download(request: HttpRequest, pk) -> HttpResponse:
    """The filled file, as an attachment; one `export` entry per person is committed first
    (workflow.download). A refusal is said on the summary page."""
    found = _get(request, pk)
    try:
        name, data = workflow.download(actor=_actor(request), firm=_firm(request), filing=found)
    except CustodyError as refused:
        if isinstance(refused, FilingGone):
            workflow.purge_expired(_firm(request))  # its deletion is on record now
        found.refresh_from_db()
        messages.error(request, str(refused.message))
        return _summary_page(request, found, status=status_of(refused))
    except (KeyUnavailable, AuditLogUnavailable) as error:
        messages.error(request, unavailable_message(error))
        return _summary_page(request, found, status=503)
    return attachment(data, name, ascii_name=name, charset=CHARSETS.get(found.encoding, "utf-8"))


@allows(Action.FILING_PREPARE)
@require_POST
def filing_delete(request: HttpRequest, pk) -> HttpResponse:
    found = _get(request, pk)
    workflow.delete(actor=_actor(request), filing=found)
    messages.success(
        request,
        _("アップロードしたファイルを削除しました。削除の記録は一覧に残ります。"),
    )
    return redirect("filings")


# --- the review ---------------------------------------------------------------------------


@allows(Action.FILING_PREPARE)
@never_cache
def filing_review(request: HttpRequest, pk) -> HttpResponse:
    """One line per review item, with a form per pending one (GET); an answer (POST)."""
    found = _get(request, pk)
    if found.deleted_at is not None:
        messages.info(request, str(FilingGone.message))
        return redirect("filing", pk=found.pk)
    if request.method == "POST":
        return _answer(request, found)
    return _review_page(request, found)


def _cell(request: HttpRequest) -> tuple[int, int] | None:
    row, field = request.POST.get("row", ""), request.POST.get("field", "")
    return (int(row), int(field)) if row.isdigit() and field.isdigit() else None


def _answer(request: HttpRequest, found: Filing) -> HttpResponse:
    cell = _cell(request)
    if cell is None:
        messages.error(request, _("送信内容が正しくありません。ページを再読み込みしてください。"))
        return _review_page(request, found, status=400)
    answer, person = request.POST.get("answer"), request.POST.get("person", "")
    if answer == "find":
        # A search among many people: posted, so what was typed never lands in a URL.
        return _review_page(request, found, search=(cell, request.POST.get("q", "")))
    if answer == "pick":
        if not person.isdigit():
            message = _("選ぶ方を一覧から選んでください。")
            return _review_page(request, found, status=400, error=(cell, message))
        choice: dict[str, Any] = {"person_id": int(person)}
    else:
        choice = {"reason": request.POST.get("reason", "")}
    try:
        found = workflow.choose(actor=_actor(request), firm=_firm(request), filing=found,
                                row=cell[0], field=cell[1], **choice)  # fmt: skip
    except CustodyError as refused:
        found.refresh_from_db()
        return _review_page(request, found, status=status_of(refused),
                            error=(cell, str(refused.message)))  # fmt: skip
    except (KeyUnavailable, AuditLogUnavailable) as error:
        messages.error(request, unavailable_message(error))
        return _review_page(request, found, status=503)
    if found.status == Filing.Status.READY:
        messages.success(
            request, _("すべての欄を確認しました。記入したファイルをダウンロードできます。")
        )
        return redirect("filing", pk=found.pk)
    messages.success(request, _("回答を記録しました。"))
    page = request.POST.get("page", "")
    return redirect(reverse("filing_review", kwargs={"pk": found.pk})
                    + (f"?page={page}" if page.isdigit() else ""))  # fmt: skip


def _review_page(request: HttpRequest, found: Filing, *, status: int = 200,
                 error: tuple[tuple[int, int], str] | None = None,
                 search: tuple[tuple[int, int], str] | None = None) -> HttpResponse:  # fmt: skip
    try:
        plan, lines = workflow.review_lines(firm=_firm(request), filing=found)
    except FilingGone as gone:
        messages.error(request, str(gone.message))
        return redirect("filing", pk=found.pk)
    except (KeyUnavailable, AuditLogUnavailable) as error_:
        messages.error(request, unavailable_message(error_))
        return _summary_page(request, found, status=503)
    layout = plan.filing.layout
    page = Paginator(lines, REVIEW_SIZE).get_page(
        request.POST.get("page") or request.GET.get("page")
    )
    picker = _Picker(layout, plan, search)
    shown = [_line(line, layout, picker, error) for line in page]
    return render(
        request,
        "filings/review.html",
        {
            "filing": found,
            "form_name": labels.form_name(found.layout_code),
            "page": page,
            "lines": shown,
            "answered": _answered(found, plan),
            "pending": found.pending_count,
            "reason_max": workflow.REASON_MAX,
        },
        status=status,
    )


def _line(line: workflow.ReviewLine, layout: Layout, picker: _Picker,
          error: tuple[tuple[int, int], str] | None) -> dict[str, Any]:  # fmt: skip
    pending = line.reason in NEEDS_CHOICE
    cell = (line.row, line.field)
    return {
        "row": line.row,
        "field": line.field,
        "key": f"{line.row}-{line.field}",
        "slot": labels.slot_name(layout, line.field),
        "name": line.name,
        "reason": labels.reason_name(line.reason),
        "hint": labels.HINTS.get(line.reason, ""),
        "candidates": line.candidates,
        "person": line.person,
        "pending": pending,
        "pick": picker.options(line) if pending and line.reason in PICKABLE else None,
        "error": error[1] if error and error[0] == cell else "",
    }


class _Picker:
    """Who may be picked for a column: the row's own person among the layout's kind of
    people (every one when there are few, else those a name search finds), a spouse or
    dependant among the row's employee's own dependants."""

    def __init__(self, layout: Layout, plan: Plan,
                 search: tuple[tuple[int, int], str] | None) -> None:  # fmt: skip
        self.layout, self.plan = layout, plan
        self.cell: tuple[int, int] | None = search[0] if search else None
        self.query = " ".join((search[1] if search else "").split())[:50]
        kinds = [PersonKind.PAYEE] if layout.code in PAYEE_LAYOUTS else [PersonKind.EMPLOYEE]
        self.people: QuerySet[Person] = Person.objects.filter(kind__in=kinds, employee=None)
        self.few = self.people.count() <= PICK_INLINE
        self._all: list[Person] | None = None

    def options(self, line: workflow.ReviewLine) -> dict[str, Any]:
        column = next(c for c in self.layout.numbers if c.field == line.field)
        candidates = list(line.candidates)
        if column.slot is not Slot.PERSON:
            employee = self.plan.row_people.get(line.row)
            if employee is None:
                return {"people": [], "needs_employee": True}
            found = list(Person.objects.filter(employee_id=employee))
            return {"people": _candidates_first(candidates, found)}
        if self.few:
            if self._all is None:
                self._all = list(self.people)
            return {"people": _candidates_first(candidates, self._all)}
        searched = self.cell == (line.row, line.field) and self.query
        found = list(_search(self.people, self.query)[:FOUND_MAX]) if searched else []
        return {"people": _candidates_first(candidates, found), "search": True,
                "query": self.query if searched else "", "searched": bool(searched)}  # fmt: skip


def _candidates_first(candidates: list[Person], others: list[Person]) -> list[dict[str, Any]]:
    ids = {person.pk for person in candidates}
    return [_option(p, candidate=True) for p in candidates] + [
        _option(p, candidate=False) for p in others if p.pk not in ids
    ]


def _option(person: Person, *, candidate: bool) -> dict[str, Any]:
    """One person in a review line's select: name, kana and birth date (never a number)."""
    values = {"name": str(person), "kana": f"{person.family_name_kana} {person.given_name_kana}",
              "birth": person.birth_date.isoformat() if person.birth_date else ""}  # fmt: skip
    label = (_("%(name)s（%(kana)s・%(birth)s）") if values["birth"] else
             _("%(name)s（%(kana)s）")) % values  # fmt: skip
    if candidate:
        label = _("%(label)s［候補］") % {"label": label}
    return {"pk": person.pk, "label": label}


def _search(people: QuerySet[Person], query: str) -> QuerySet[Person]:
    for term in query.split():
        people = people.filter(
            Q(family_name__icontains=term) | Q(given_name__icontains=term)
            | Q(family_name_kana__icontains=term) | Q(given_name_kana__icontains=term)
            | Q(code=term)
        )  # fmt: skip
    return people


def _answered(found: Filing, plan: Plan) -> list[dict[str, Any]]:
    """The handler's answers: the person picked or why the column is left as it is."""
    answers = workflow.choices_of(found)
    people = Person.objects.in_bulk([c.person_id for c in answers.values() if c.person_id])
    layout, out = plan.filing.layout, []
    for (row, field), choice in sorted(answers.items()):
        column = next((c for c in layout.numbers if c.field == field), None)
        if column is None or row > len(plan.filing.records):
            continue
        name_field, _kana = _name_fields(layout, column)
        out.append({
            "row": row,
            "field": field,
            "slot": labels.slot_name(layout, field),
            "name": plan.filing.records[row - 1].text(name_field, plan.filing.encoding),
            "person": people.get(choice.person_id) if choice.person_id else None,
            "reason": choice.reason,
        })  # fmt: skip
    return out


# --- the person's copy ----------------------------------------------------------------------


@allows(Action.FILING_STRIP)
@never_cache
@csrf_exempt
def filings_strip(request: HttpRequest) -> HttpResponse:
    """A file with every number column emptied, for the copies handed to people (本人交付用).
    One form, two buttons: 「確認する」 shows how many numbers the file holds (nothing kept,
    nothing logged: no number leaves), 「番号を消去してダウンロード」 returns the emptied file
    (workflow.strip, logged). The file is never kept: the second step sends it again."""
    return _strip(request, bounded(request))


@csrf_protect
def _strip(request: HttpRequest, handler: BoundedMemoryUploadHandler) -> HttpResponse:
    context: dict[str, Any] = {"form": FilingFileForm()}
    if request.method != "POST":
        return render(request, "filings/strip.html", context)
    files = request.FILES
    if handler.too_large:
        context["error"] = str(FilingTooLarge.message)
        return render(request, "filings/strip.html", context, status=status_of(FilingTooLarge()))
    form = FilingFileForm(request.POST, files)
    if not form.is_valid():
        context.update(form=form, error=form_error(form))
        return render(request, "filings/strip.html", context, status=400)
    data = form.cleaned_data["file"].read()
    try:
        if request.POST.get("step") == "strip":
            return _stripped(request, data)
        context["checked"] = _checked(data)
    except CustodyError as refused:
        context["error"] = str(refused.message)
        return render(request, "filings/strip.html", context, status=status_of(refused))
    return render(request, "filings/strip.html", context)


def _checked(data: bytes) -> dict[str, Any]:
    if len(data) > settings.FILING_MAX_BYTES:
        raise FilingTooLarge
    filing_file = parse(data)
    return {
        "form_name": labels.form_name(filing_file.layout.code),
        "edition_name": labels.edition_name(filing_file.layout.edition),
        "rows": len(filing_file.records),
        "numbers": len(holds_numbers(filing_file)),
    }


def _stripped(request: HttpRequest, data: bytes) -> HttpResponse:
    stripped = workflow.strip(actor=_actor(request), data=data)
    code = stripped.layout_code
    # The bytes are the upload's, in its own encoding (CP932, or UTF-8 for the 統一CSV).
    return attachment(stripped.data, f"{code}_本人交付用.csv", ascii_name=f"{code}_person_copy.csv")
