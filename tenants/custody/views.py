"""Firm pages for people, numbers, purposes, exports and the access log. Thin: the services
check roles and write the log; views turn their errors into messages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from authz.actions import Action
from authz.decide import permits
from authz.web import allows
from billing.errors import BillingBlocked
from config.error_layer import answer_message, status_of
from config.progress import display as progress_display
from keys.errors import FirmKeyRefused, KeyUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.labels import action_label, role_label
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, actor_from_request, log_access, log_access_denied
from tenants.retention.services import person_status

from . import csv_import, people_search, person_language, policy, services
from .csv_stream import csv_response, with_first
from .errors import AlreadyImported, CsvRejected, CustodyError, NotAllowed, UploadExpired
from .forms import (
    BoundedMemoryUploadHandler,
    ImportFileForm,
    NumberForm,
    PersonForm,
    PurposeChoiceForm,
    PurposeForm,
)
from .importing import ImportRejected
from .log_filters import BadFilter, filter_entries
from .models import ImportUpload, Person, PersonKind, Purpose
from .mynumber import MASK, InvalidMyNumber

# Lazy: translated when shown, in the language of the request (a module-level gettext would
# freeze the language active at import).
UNAVAILABLE = gettext_lazy(
    "鍵管理サービスまたはアクセス記録が利用できないため、表示できませんでした。"
    "番号は表示されていません。時間をおいて再度お試しください。"
)


FIRM_KEY_REFUSED = gettext_lazy(
    "この事業者が自社で管理する鍵（BYOK）へのアクセスが拒否されたため、表示できませんでした。"
    "番号は表示されていません。鍵の管理者に、鍵が有効で当サービスへの許可（グラント）があるか"
    "確認を依頼してください。"
)


def unavailable_message(error: Exception) -> str:
    """What to tell the user when the key service or the log refused: the firm's own key
    (BYOK) is named, because only the firm can fix it."""
    return str(FIRM_KEY_REFUSED if isinstance(error, FirmKeyRefused) else UNAVAILABLE)


def _actor(request: HttpRequest) -> Actor:
    return actor_from_request(request)


def _role(request: HttpRequest) -> str:
    return request.membership.role  # type: ignore[attr-defined]


@allows(Action.PEOPLE_VIEW)
def people(request: HttpRequest) -> HttpResponse:
    """The people list: search, filters, sort and pages (tenants.custody.people_search). A
    bad filter value is said on the page with a 400; nothing is listed for it."""
    form = people_search.PeopleFilterForm(request.GET or None)
    query = people_search.PeopleQuery()
    if request.GET and not form.is_valid():
        return _people_page(request, form, listing=None, status=400)
    if form.is_bound:
        query = people_search.PeopleQuery.from_form(form)
    found = people_search.listing(query, page_number=request.GET.get("page"))
    try:
        services.people_listed(actor=_actor(request), people=found.people)
    except CustodyError as error:
        messages.error(request, str(error.message))
        return redirect("dashboard")
    return _people_page(request, form, listing=found, query=query)


def _people_page(request, form, *, listing, query=None, status=200) -> HttpResponse:
    kept = request.GET.copy()
    kept.pop("page", None)
    return render(
        request,
        "custody/people.html",
        {
            "form": form,
            "listing": listing,
            "page": listing.page if listing else None,
            "filtered": bool(query and query.filtered),
            # The pager's links keep the search and the filters.
            "query": kept.urlencode(),
            "mask": MASK,
            "can_write": policy.can_write(_role(request)),
            "bulk_actions": _bulk_actions(_role(request)),
        },
        status=status,
    )


def _bulk_actions(role: str) -> list[str]:
    """The list's bulk buttons this role may press (the authorization layer decides again
    when pressed)."""
    from .bulk import ACTIONS

    return [str(kind) for kind, action in ACTIONS.items() if permits(role, action)]


# --- CSV import (tenants.custody.csv_import) -------------------------------------------------

IMPORT_UNAVAILABLE = gettext_lazy(
    "鍵管理サービスまたはアクセス記録が利用できないため、処理できませんでした。"
    "何も登録していません。時間をおいて再度お試しください。"
)
PREVIEW_ERRORS = 500  # rows of the error table shown; the counts say how many in all


def _import_refused(request: HttpRequest) -> HttpResponse:
    messages.error(request, str(NotAllowed.message))
    return redirect("people")


@allows(Action.PEOPLE_WRITE)
@csrf_exempt
def people_import(request: HttpRequest) -> HttpResponse:
    """The upload form (GET) and the upload (POST). Our own upload handler must be in place
    before anything reads the body, CSRF's check included, so that check runs just after
    (csrf_protect below): the file stays in memory, never in a temporary file."""
    handler = BoundedMemoryUploadHandler(request, limit=settings.IMPORT_MAX_BYTES)
    request.upload_handlers = [handler]
    return _people_import(request, handler)


@csrf_protect
def _people_import(request: HttpRequest, handler: BoundedMemoryUploadHandler) -> HttpResponse:
    actor = _actor(request)
    if not policy.can_write(actor.role):
        log_access_denied(actor=actor, action="import")
        return _import_refused(request)
    form = ImportFileForm()
    error: str | None = None
    status = 200
    if request.method == "POST":
        status = 400
        files = request.FILES  # reads the body, through the handler
        if handler.too_large:
            rejected = csv_import.too_large()
            csv_import.log_rejected(
                actor=actor,
                rejected=rejected,
                byte_count=int(request.META.get("CONTENT_LENGTH") or 0),
            )
            error = str(rejected.message)
        else:
            form = ImportFileForm(request.POST, files)
            if form.is_valid():
                try:
                    preview = csv_import.upload_csv(
                        actor=actor,
                        firm=request.tenant,  # type: ignore[attr-defined]
                        data=form.cleaned_data["file"].read(),
                    )
                except CustodyError as rejected:
                    error = str(rejected.message)
                except (KeyUnavailable, AuditLogUnavailable):
                    error = str(IMPORT_UNAVAILABLE)
                else:
                    return redirect("people_import_preview", pk=preview.upload.pk)
    return render(
        request,
        "custody/import_form.html",
        {
            "form": form,
            "error": error,
            "max_rows": settings.IMPORT_MAX_ROWS,
            "max_mib": f"{settings.IMPORT_MAX_BYTES / 1024 / 1024:g}",
            "purposes": Purpose.objects.filter(active=True),
            "person_languages": person_language.choices(),
        },
        status=status,
    )


@allows(Action.PEOPLE_WRITE)
def people_import_template(request: HttpRequest) -> HttpResponseBase:
    """An empty CSV with the Japanese headings, UTF-8 with a BOM for Excel."""
    headings = [heading for _name, heading, _required in csv_import.COLUMNS]
    return csv_response("people-import-template.csv", headings, [], bom=True)


@allows(Action.PEOPLE_WRITE)
@never_cache
def people_import_preview(request: HttpRequest, pk) -> HttpResponse:
    """The staged file's counts, errors and first rows (GET); confirm or cancel (POST). Once
    confirmed, the import's progress (it runs in the background), then its result."""
    upload = get_object_or_404(ImportUpload, pk=pk)
    actor = _actor(request)
    firm = request.tenant  # type: ignore[attr-defined]
    state = csv_import.import_state(upload)
    try:
        if request.method == "POST" and request.POST.get("action") == "cancel":
            csv_import.cancel_upload(actor=actor, upload=upload)
            messages.info(
                request, _("アップロードしたファイルを取り消しました。何も登録していません。")
            )
            return redirect("people_import")
        if request.method == "POST":
            confirmed = csv_import.confirm_upload(actor=actor, firm=firm, upload=upload)
            if confirmed.status == ImportUpload.Status.FAILED:
                # Not started (the broker is down, D25): the page shows why and the button.
                return redirect("people_import_preview", pk=upload.pk)
            messages.success(
                request,
                _("登録を開始しました。進み具合はこの画面に表示されます。"
                  "画面を閉じても登録は続きます。"),
            )  # fmt: skip
            return redirect("people_import_preview", pk=upload.pk)
        if state in (ImportUpload.Status.QUEUED, ImportUpload.Status.RUNNING,
                     ImportUpload.Status.DONE):  # fmt: skip
            return _import_progress(request, upload, actor)
        preview = csv_import.preview_upload(actor=actor, firm=firm, upload=upload)
    except NotAllowed:
        return _import_refused(request)
    except AlreadyImported as error:
        messages.info(request, str(error.message))
        return redirect("people")
    except ImportRejected:
        messages.error(
            request,
            _(
                "登録前の確認で誤りが見つかったため、何も登録していません。下の一覧を確認してください。"
            ),
        )
        return redirect("people_import_preview", pk=upload.pk)
    except (UploadExpired, CsvRejected, BillingBlocked) as error:
        messages.error(request, str(error.message))
        return redirect("people_import")
    except (KeyUnavailable, AuditLogUnavailable):
        messages.error(request, str(IMPORT_UNAVAILABLE))
        return redirect("people_import")
    labels = {**csv_import.LABELS, "": _("行全体")}
    return render(
        request,
        "custody/import_preview.html",
        {
            "upload": upload,
            "preview": preview,
            "failure": csv_import.failure_message(upload),
            "errors": [
                {"row": e.row, "field": labels.get(e.field, e.field), "reason": e.reason}
                for e in preview.errors[:PREVIEW_ERRORS]
            ],
            "errors_hidden": max(0, len(preview.errors) - PREVIEW_ERRORS),
            "sample": csv_import.masked_sample(preview.parsed),
            "mask": MASK,
        },
    )


def _import_progress(request: HttpRequest, upload: ImportUpload, actor: Actor) -> HttpResponse:
    """The import's state as stored: the bar while it is queued or running, the count when
    done. A reload shows the same figures; progress.js polls the status."""
    figures = csv_import.import_status_for(actor=actor, upload=upload)
    url = reverse("people_import_status", kwargs={"pk": upload.pk})
    return render(
        request,
        "custody/import_progress.html",
        {
            "upload": upload,
            "state": figures["status"],
            "progress": progress_display(url, figures),
            "imported": f"{upload.imported_count:,}",
        },
    )


@allows(Action.PEOPLE_WRITE)
@never_cache
@require_GET
def people_import_status(request: HttpRequest, pk) -> JsonResponse:
    """The import's progress as JSON (config.progress.job_status), for progress.js. Only for
    those who may see the upload (its uploader, an owner); 404 to anyone else, as to another
    firm's id."""
    upload = get_object_or_404(ImportUpload, pk=pk)
    try:
        figures = csv_import.import_status_for(actor=_actor(request), upload=upload)
    except NotAllowed:
        raise Http404 from None
    return JsonResponse(figures)


@allows(Action.PEOPLE_WRITE)
def person_new(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None, initial=_new_dependent_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(actor=_actor(request), data=form.cleaned_data)
        except CustodyError as error:
            messages.error(request, str(error.message))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("登録しました。"))
            return redirect("person", pk=person.pk)
    return render(request, "custody/person_form.html", {"form": form, "person": None})


def _new_dependent_initial(request: HttpRequest) -> dict:
    """`?employee=<id>` (the employee page's "add a dependant"): the form starts as that
    employee's dependant. An id that is no employee of this firm is a 404, not a blank form
    that silently drops the link."""
    raw = request.GET.get("employee")
    if raw is None:
        return {}
    if not raw.isdigit():
        raise Http404
    employee = get_object_or_404(Person, pk=int(raw), kind=PersonKind.EMPLOYEE)
    return {"kind": PersonKind.DEPENDENT, "employee": employee.pk}


@allows(Action.PEOPLE_WRITE)
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(Person, pk=pk)
    form = PersonForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(actor=_actor(request), person=person, changes=form.cleaned_data)
        except CustodyError as error:
            messages.error(request, str(error.message))
        except ValidationError as error:
            # A code another member gave someone meanwhile (the service's check, or the
            # database's constraint): under its field, as the form's own check shows it.
            form.add_error(None, error)
        else:
            messages.success(request, _("更新しました。"))
            return redirect("person", pk=person.pk)
    return render(request, "custody/person_form.html", {"form": form, "person": person})


@allows(Action.PEOPLE_VIEW)
@never_cache
def person(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Person.objects.select_related("my_number", "employee"), pk=pk)
    try:
        services.person_for_viewing(actor=_actor(request), person=found)
    except CustodyError as error:
        messages.error(request, str(error.message))
        return redirect("people")
    return _person_page(request, found)


def _person_page(request, found: Person, *, number_form=None, reveal_form=None, status=200):
    role = _role(request)
    notified = list(found.my_number.purposes.all()) if found.has_number else []
    return render(
        request,
        "custody/person.html",
        {
            "person": found,
            "person_language": person_language.shown(found.language),
            "mask": MASK,
            "notified": notified,
            "dependents": found.dependents.all(),
            "can_write": policy.can_write(role),
            "can_reveal": policy.can_reveal(role),
            "number_form": number_form
            or NumberForm(initial={"purposes": [p.code for p in notified]}),
            "reveal_form": reveal_form or PurposeChoiceForm(),
            "retention": person_status(found),
        },
        status=status,
    )


@allows(Action.PEOPLE_WRITE)
@require_POST
def person_number(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Person.objects.select_related("my_number"), pk=pk)
    form = NumberForm(request.POST)
    if not form.is_valid():
        return _person_page(request, found, number_form=form, status=400)
    try:
        services.number_set(
            actor=_actor(request),
            firm=request.tenant,  # type: ignore[attr-defined]
            person=found,
            raw=form.cleaned_data["my_number"],
            purpose_codes=form.cleaned_data["purposes"],
        )
    except InvalidMyNumber as error:
        form = NumberForm(data={"purposes": request.POST.getlist("purposes")})
        form.is_valid()
        form.add_error("my_number", error.messages)
        return _person_page(request, found, number_form=form, status=400)
    except CustodyError as error:
        form = NumberForm(data={"purposes": request.POST.getlist("purposes")})
        form.is_valid()
        form.add_error("my_number", str(error.message))
        return _person_page(request, found, number_form=form, status=400)
    except (KeyUnavailable, AuditLogUnavailable):
        messages.error(request, UNAVAILABLE)
        return redirect("person", pk=pk)
    messages.success(request, _("マイナンバーを登録しました。"))
    return redirect("person", pk=pk)


@allows(Action.NUMBER_REVEAL)
@never_cache
@require_POST
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Person.objects.select_related("my_number"), pk=pk)
    form = PurposeChoiceForm(request.POST)
    purpose = request.POST.get("purpose") if form.is_valid() else None
    try:
        number = services.number_reveal(
            actor=_actor(request),
            firm=request.tenant,  # type: ignore[attr-defined]
            person=found,
            purpose_code=purpose,
        )
    except CustodyError as error:
        messages.error(request, str(error.message))
        return _person_page(request, found, reveal_form=form, status=status_of(error, 403))
    except (KeyUnavailable, AuditLogUnavailable) as error:
        messages.error(request, unavailable_message(error))
        return _person_page(request, found, reveal_form=form, status=503)
    return render(
        request,
        "custody/reveal.html",
        {
            "person": found,
            "number": number,
            "purpose": Purpose.objects.get(code=purpose),
            "seconds": settings.REVEAL_DISPLAY_SECONDS,
            "mask": MASK,
        },
    )


@allows(Action.PERSON_DELETE)
@require_POST
def person_delete(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Person, pk=pk)
    try:
        services.person_delete(actor=_actor(request), person=found)
    except CustodyError as error:
        messages.error(request, str(error.message))
        return redirect("person", pk=pk)
    messages.success(request, _("削除しました。"))
    return redirect("people")


@allows(Action.PURPOSES_VIEW, POST=Action.PURPOSES_MANAGE)
def purposes(request: HttpRequest) -> HttpResponse:
    """The firm's purposes of use; owners add new ones and stop or resume them."""
    can_manage = policy.can_manage_purposes(_role(request))
    form = PurposeForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            messages.error(
                request,
                _(
                    "利用目的を変更できるのはオーナーだけです。変更が必要ならオーナーに依頼してください。"
                ),
            )
            return redirect("purposes")
        if form.is_valid():
            services.purpose_add(actor=_actor(request), purpose=form.save(commit=False))
            messages.success(request, _("利用目的を追加しました。"))
            return redirect("purposes")
    return render(
        request,
        "custody/purposes.html",
        {"purposes": Purpose.objects.all(), "can_manage": can_manage, "form": form},
    )


@allows(Action.PURPOSES_MANAGE)
@require_POST
def purpose_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    if not policy.can_manage_purposes(_role(request)):
        messages.error(
            request,
            _(
                "利用目的を変更できるのはオーナーだけです。変更が必要ならオーナーに依頼してください。"
            ),
        )
        return redirect("purposes")
    get_object_or_404(Purpose, pk=pk)
    services.purpose_toggle(actor=_actor(request), purpose_id=pk)
    return redirect("purposes")


@allows(Action.NUMBER_EXPORT)
def exports(request: HttpRequest) -> HttpResponseBase:
    form = PurposeChoiceForm(request.POST or None)
    people_with_numbers = Person.objects.filter(my_number__isnull=False)
    status = 200
    if request.method == "POST" and form.is_valid():
        chosen = [int(pk) for pk in request.POST.getlist("people") if pk.isdigit()]
        rows = services.numbers_export(
            actor=_actor(request),
            firm=request.tenant,  # type: ignore[attr-defined]
            person_ids=chosen,
            purpose_code=form.cleaned_data["purpose"],
        )
        try:
            first = next(rows, None)
        except CustodyError as error:
            messages.error(request, str(error.message))
            status = status_of(error, 200)
        except (KeyUnavailable, AuditLogUnavailable) as error:
            messages.error(request, unavailable_message(error))
            status = 503  # as a reveal: nothing exported, try again later
        else:
            return csv_response(
                "my-numbers.csv", services.EXPORT_COLUMNS, with_first(first, rows), bom=True
            )
    return render(
        request,
        "custody/exports.html",
        {
            "form": form,
            "people": people_with_numbers,
            "can_export": policy.can_reveal(_role(request)),
        },
        status=status,
    )


@allows(Action.LOG_VIEW)
def access_log(request: HttpRequest) -> HttpResponse:
    status = 200
    try:
        entries = filter_entries(AccessLogEntry.objects.order_by("-seq"), request.GET)
    except BadFilter as error:
        # The page itself, with the filter to correct and the error above it.
        messages.error(request, answer_message(error))
        entries = AccessLogEntry.objects.none()
        status = 400
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    without_person = query.copy()
    without_person.pop("person", None)
    # Names for the people on this page; a deleted person keeps only the id the log holds.
    ids = {entry.person_id for entry in page if entry.person_id}
    names = {p.pk: str(p) for p in Person.objects.filter(pk__in=ids)}
    purposes = {p.code: p.name for p in Purpose.objects.all()}
    for entry in page:
        entry.person_name = names.get(entry.person_id, "")
        entry.purpose_name = purposes.get(entry.purpose, entry.purpose)
        entry.action_label = action_label(entry.action)
        entry.role_label = role_label(entry.actor_role)
    codes = AccessLogEntry.objects.values_list("action", flat=True).distinct()
    return render(
        request,
        "custody/access_log.html",
        {
            "page": page,
            "filters": request.GET,
            "query": query.urlencode(),
            "query_without_person": without_person.urlencode(),
            "purposes": Purpose.objects.all(),
            "actions": sorted(((code, action_label(code)) for code in codes), key=lambda a: a[1]),
            # The firm's members (the log also holds ids of people who have since left;
            # those can still be filtered by id through the URL or the API).
            "actors": Membership.objects.filter(firm=request.tenant)  # type: ignore[attr-defined]
            .select_related("user")
            .order_by("user__email"),
        },
        status=status,
    )


LOG_COLUMNS = (
    "seq", "at", "actor_user_id", "actor_email", "actor_role", "api_token_id", "person_id",
    "action", "purpose", "ip", "user_agent", "result", "request_id", "prev_hash", "hash",
)  # fmt: skip


@allows(Action.LOG_VIEW)
def access_log_csv(request: HttpRequest) -> HttpResponseBase:
    # A malformed filter (BadFilter) is a 400 page from the error layer, before anything is
    # logged or sent.
    entries = filter_entries(AccessLogEntry.objects.order_by("seq"), request.GET)
    with transaction.atomic():
        log_access(actor=_actor(request), action="download_log", detail=dict(request.GET.items()))
    rows = (
        tuple(getattr(entry, column) for column in LOG_COLUMNS)
        for entry in entries.iterator(chunk_size=2000)
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(f"access-log-{stamp}.csv", LOG_COLUMNS, rows, bom=True)
