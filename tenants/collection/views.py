"""Handler pages for requests and verification. Thin: the services check roles and write the
log; views turn their errors into messages. The person's own pages are in submit_views."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from authz.actions import Action
from authz.decide import permits
from authz.web import allows
from keys.errors import KeyUnavailable
from objectstore import ObjectMissing, ObjectStoreUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.services import Actor, actor_from_request
from tenants.custody import policy
from tenants.custody.csv_import import decode
from tenants.custody.errors import CsvRejected, CustodyError
from tenants.custody.models import Person, PersonKind
from tenants.custody.mynumber import MASK, InvalidMyNumber

from . import abroad, services
from .forms import ApproveForm, PaperEntryForm, ReasonForm, RequestCsvForm, RequestForm
from .models import NUMBER_KINDS, CollectionRequest, Document, DocumentKind, RequestStatus
from .qr import qr_svg
from .uploads import read_uploads

ISSUED_SESSION_KEY = "collection_issued"
UNAVAILABLE = gettext_lazy(  # translated per request, in the reader's language
    "鍵管理サービスまたはアクセス記録が利用できないため、処理できませんでした。"
    "時間をおいて再度お試しください。"
)
CSV_MAX_ROWS = 1000


def _actor(request: HttpRequest) -> Actor:
    return actor_from_request(request)


def _role(request: HttpRequest) -> str:
    return request.membership.role  # type: ignore[attr-defined]


def _firm(request: HttpRequest):
    return request.tenant  # type: ignore[attr-defined]


@allows(Action.COLLECTION_VIEW)
def requests_list(request: HttpRequest) -> HttpResponse:
    counts = services.counts_by_status()
    status = request.GET.get("status", "")
    queryset = CollectionRequest.objects.select_related("person")
    if status in RequestStatus.values:
        queryset = queryset.filter(status=status)
        if status == RequestStatus.SUBMITTED:
            # The verification queue: oldest answer first.
            queryset = queryset.order_by("submitted_at", "id")
    else:
        status = ""
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "collection/list.html",
        {
            "page": page,
            "requests": page.object_list,
            "status": status,
            "statuses": [(value, label, counts[value]) for value, label in RequestStatus.choices],
            "query": f"status={status}" if status else "",
            "can_write": policy.can_write(_role(request)),
        },
    )


@allows(Action.COLLECTION_REQUEST)
def request_new(request: HttpRequest) -> HttpResponse:
    if not policy.can_write(_role(request)):
        messages.error(request, _("この操作を行う権限がありません。"))
        return redirect("collection_list")
    initial: dict = {}
    if request.GET.get("person", "").isdigit():
        initial["people"] = [int(request.GET["person"])]
        # Asked from the person's page: their language, when they have one, is the default.
        chosen = Person.objects.filter(pk=initial["people"][0]).first()
        if chosen is not None and chosen.language:
            initial["language"] = chosen.language
    form = RequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        people = list(form.cleaned_data["people"])
        emails = {people[0].pk: form.cleaned_data["email"]} if len(people) == 1 else {}
        try:
            issued = services.requests_create_many(
                actor=_actor(request),
                firm=_firm(request),
                people=people,
                purpose_codes=form.cleaned_data["purposes"] or None,
                documents=form.cleaned_data["documents"],
                emails_by_person=emails,
                language=form.cleaned_data["language"],
                tax_year=form.cleaned_data["tax_year"],
            )
        except CustodyError as error:
            form.add_error(None, str(error.message))
        except ValidationError as invalid:
            form.add_error(None, invalid.messages)
        except (KeyUnavailable, AuditLogUnavailable):
            form.add_error(None, UNAVAILABLE)
        else:
            return _show_issued(request, issued)
    return render(request, "collection/new.html", {"form": form, "csv_form": RequestCsvForm()})


def _show_issued(request: HttpRequest, issued: list[services.IssuedRequest]) -> HttpResponse:
    request.session[ISSUED_SESSION_KEY] = [item.request.pk for item in issued]
    messages.success(request, _("%(count)d件の依頼を作成しました。") % {"count": len(issued)})
    if len(issued) == 1:
        return redirect("collection_request", pk=issued[0].request.pk)
    return redirect("collection_issued")


@allows(Action.COLLECTION_LINK_SHOW)
@never_cache
def requests_issued(request: HttpRequest) -> HttpResponse:
    """The links and QR codes of the requests just made, to hand over or copy."""
    ids = request.session.get(ISSUED_SESSION_KEY) or []
    issued = CollectionRequest.objects.filter(
        pk__in=ids, status=RequestStatus.PENDING
    ).select_related("person")
    issued_list = list(issued.order_by("id"))
    urls = services.request_links_shown(actor=_actor(request), firm=_firm(request),
                                        requests=issued_list)  # fmt: skip
    items = [{"request": item, **_link(url)} for item, url in zip(issued_list, urls, strict=True)]
    return render(request, "collection/issued.html", {"items": items})


def _link(url: str) -> dict:
    return {"url": url, "qr": qr_svg(url, title=_("提出ページのQRコード"))}


@allows(Action.COLLECTION_REQUEST)
@require_POST
def requests_from_csv(request: HttpRequest) -> HttpResponse:
    """Bulk requests from a CSV of person_id,email: all of them, or none."""
    form = RequestCsvForm(request.POST, request.FILES)
    if not policy.can_write(_role(request)) or not form.is_valid():
        messages.error(request, _("CSVファイルと必要書類を指定してください。"))
        return redirect("collection_new")
    try:
        people, emails = _people_from_csv(form.cleaned_data["file"].read(256 * 1024 + 1))
        issued = services.requests_create_many(
            actor=_actor(request),
            firm=_firm(request),
            people=people,
            documents=form.cleaned_data["documents"],
            emails_by_person=emails,
        )
    except CsvProblem as problem:
        messages.error(request, str(problem))
        return redirect("collection_new")
    except CustodyError as error:
        messages.error(request, _("CSVの依頼は作成されませんでした。") + str(error.message))
        return redirect("collection_new")
    except (KeyUnavailable, AuditLogUnavailable):
        messages.error(request, UNAVAILABLE)
        return redirect("collection_new")
    return _show_issued(request, issued)


class CsvProblem(Exception):
    pass


def _people_from_csv(data: bytes) -> tuple[list[Person], dict[int, str]]:
    if len(data) > 256 * 1024:
        raise CsvProblem(
            _("CSVが大きすぎます。1回に%(max)d行までにしてください。") % {"max": CSV_MAX_ROWS}
        )
    try:
        text, _encoding = decode(data)  # UTF-8 or Shift_JIS, as the people import reads
    except CsvRejected as rejected:
        raise CsvProblem(str(rejected.message)) from rejected
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "person_id" not in rows[0]:
        raise CsvProblem(_("CSVの1行目に person_id と email の列名を書いてください。"))
    if len(rows) > CSV_MAX_ROWS:
        raise CsvProblem(
            _("CSVが大きすぎます。1回に%(max)d行までにしてください。") % {"max": CSV_MAX_ROWS}
        )
    emails: dict[int, str] = {}
    for number, row in enumerate(rows, start=2):
        raw_id = (row.get("person_id") or "").strip()
        email = (row.get("email") or "").strip()
        if not raw_id.isdigit():
            raise CsvProblem(
                _(
                    "%(row)d行目: person_id が数字ではありません。"
                    "ファイルを直して、もう一度アップロードしてください。"
                )
                % {"row": number}
            )
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CsvProblem(
                    _(
                        "%(row)d行目: メールアドレスの形式が正しくありません。"
                        "ファイルを直して、もう一度アップロードしてください。"
                    )
                    % {"row": number}
                ) from None
        emails[int(raw_id)] = email
    found = {
        person.pk: person
        for person in Person.objects.filter(pk__in=emails).exclude(kind=PersonKind.DEPENDENT)
    }
    missing = [pk for pk in emails if pk not in found]
    if missing:
        raise CsvProblem(
            _(
                "登録されていない、または扶養親族の person_id があります: %(ids)s。"
                "従業員・支払先の ID に直して、もう一度アップロードしてください。"
            )
            % {"ids": ", ".join(str(pk) for pk in missing[:10])}
        )
    return [found[pk] for pk in emails], emails


@allows(Action.COLLECTION_VIEW)
@never_cache
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(CollectionRequest.objects.select_related("person"), pk=pk)
    return _detail_page(request, item)


def _condition_label(condition: str | None) -> str:
    """What a dependant abroad aged 30-69 said holds, as the staff read it."""
    if not condition or condition not in abroad.Condition.__members__.values():
        return ""
    return str(abroad.CONDITION_LABELS[abroad.Condition(condition)])


def _detail_page(request, item: CollectionRequest, *, shown_numbers=None, approve_form=None,
                 reject_form=None, status=200) -> HttpResponse:  # fmt: skip
    role = _role(request)
    link = None
    if item.shown_status == RequestStatus.PENDING and permits(role, Action.COLLECTION_LINK_SHOW):
        [url] = services.request_links_shown(actor=_actor(request), firm=_firm(request),
                                             requests=[item])  # fmt: skip
        link = _link(url)
    return render(
        request,
        "collection/detail.html",
        {
            "item": item,
            "link": link,
            "mask": MASK,
            "people_asked": services.people_asked(item),
            "abroad": [
                {
                    "person": person,
                    "needs": needs,
                    "condition": _condition_label(item.abroad_conditions.get(str(person.pk))),
                }
                for person, needs in services.abroad_asked(item)
            ],  # fmt: skip
            "purposes": list(item.purposes.all()),
            "documents": list(item.uploaded_documents.select_related("person")),
            "shown_numbers": shown_numbers,
            "can_write": policy.can_write(role),
            "can_verify": policy.can_reveal(role),
            "approve_form": approve_form or ApproveForm(),
            "reject_form": reject_form or ReasonForm(),
        },
        status=status,
    )


def _service_call(request: HttpRequest, pk: int, call) -> HttpResponse:
    item = get_object_or_404(CollectionRequest.objects.select_related("person"), pk=pk)
    try:
        result = call(item)
    except CustodyError as error:
        messages.error(request, str(error.message))
    except (KeyUnavailable, AuditLogUnavailable):
        messages.error(request, UNAVAILABLE)
    else:
        if isinstance(result, HttpResponse):
            return result
    return redirect("collection_request", pk=pk)


@allows(Action.COLLECTION_REQUEST)
@require_POST
def request_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    def revoke(item):
        services.request_revoke(actor=_actor(request), request=item)
        messages.success(request, _("依頼を取り消しました。リンクは使えなくなりました。"))

    return _service_call(request, pk, revoke)


@allows(Action.COLLECTION_REQUEST)
@require_POST
def request_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    def reissue(item):
        services.request_reissue(actor=_actor(request), firm=_firm(request), request=item)
        messages.success(
            request, _("新しいリンクを発行しました。以前のリンクは使えなくなりました。")
        )

    return _service_call(request, pk, reissue)


@allows(Action.COLLECTION_VERIFY)
@require_POST
@never_cache
def request_show_numbers(request: HttpRequest, pk: int) -> HttpResponse:
    def show(item):
        shown = services.submitted_numbers(actor=_actor(request), firm=_firm(request), request=item)
        # Grouped as on the card (4-4-4), so the eye can compare it with the document.
        grouped = [(person, f"{n[:4]}-{n[4:8]}-{n[8:]}") for person, n in shown]
        return _detail_page(request, item, shown_numbers=grouped)

    return _service_call(request, pk, show)


@allows(Action.COLLECTION_VERIFY)
@require_POST
def request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    form = ApproveForm(request.POST)

    def approve(item):
        if not form.is_valid():
            return _detail_page(request, item, approve_form=form, status=400)
        services.request_approve(
            actor=_actor(request),
            firm=_firm(request),
            request=item,
            method=form.cleaned_data["method"],
            note=form.cleaned_data["note"],
        )
        messages.success(request, _("確認しました。マイナンバーを登録しました。"))
        return None

    return _service_call(request, pk, approve)


@allows(Action.COLLECTION_VERIFY)
@require_POST
def request_reject(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)

    def reject(item):
        if not form.is_valid():
            return _detail_page(request, item, reject_form=form, status=400)
        issued = services.request_reject(
            actor=_actor(request), firm=_firm(request), request=item,
            reason=form.cleaned_data["reason"],
        )  # fmt: skip
        messages.success(request, _("差し戻しました。新しいリンクを発行しました。"))
        return redirect("collection_request", pk=issued.request.pk)

    return _service_call(request, pk, reject)


@allows(Action.COLLECTION_VERIFY)
@never_cache
def document_view(request: HttpRequest, pk: str) -> HttpResponse:
    document = get_object_or_404(Document.objects.select_related("request"), pk=pk)
    try:
        content = services.document_content(
            actor=_actor(request), firm=_firm(request), document=document
        )
    except CustodyError as error:
        messages.error(request, str(error.message))
        return redirect("collection_request", pk=document.request_id)
    except (KeyUnavailable, AuditLogUnavailable, ObjectStoreUnavailable, ObjectMissing):
        messages.error(request, UNAVAILABLE)
        return redirect("collection_request", pk=document.request_id)
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        document.content_type
    )
    if extension is None:
        raise Http404
    response = HttpResponse(content, content_type=document.content_type)
    # Images are re-encoded on upload and safe to show; a PDF is kept as sent and may carry
    # script, so it is downloaded, never rendered in our origin.
    disposition = "attachment" if extension == "pdf" else "inline"
    response["Content-Disposition"] = (
        f'{disposition}; filename="document-{document.kind}.{extension}"'
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    # Even a crafted PDF runs no script in our origin.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    return response


@allows(Action.PEOPLE_WRITE)
@never_cache
def paper_entry(request: HttpRequest, person_pk: int) -> HttpResponse:
    """A number handed over on paper: entered by a handler, with the scanned documents."""
    person = get_object_or_404(Person, pk=person_pk)
    form = PaperEntryForm(request.POST or None)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        uploads = read_uploads(request, NUMBER_KINDS, errors)
        if form.is_valid() and not errors:
            try:
                services.paper_entry(
                    actor=_actor(request),
                    firm=_firm(request),
                    person=person,
                    raw=form.cleaned_data["my_number"],
                    purpose_codes=form.cleaned_data["purposes"] or None,
                    method=form.cleaned_data["method"],
                    note=form.cleaned_data["note"],
                    uploads=uploads,
                )
            except InvalidMyNumber as invalid:
                form.add_error("my_number", invalid.messages)
            except CustodyError as error:
                form.add_error(None, str(error.message))
            except (KeyUnavailable, AuditLogUnavailable, ObjectStoreUnavailable):
                form.add_error(None, UNAVAILABLE)
            else:
                messages.success(request, _("書類を確認し、マイナンバーを登録しました。"))
                return redirect("person", pk=person.pk)
        status = 400
    documents = [
        {"kind": kind, "label": label, "errors": errors.get(f"document_{kind}", [])}
        for kind, label in ((kind, DocumentKind(kind).label) for kind in NUMBER_KINDS)
    ]
    return render(
        request,
        "collection/paper.html",
        {"form": form, "person": person, "documents": documents},
        status=status,
    )
