"""Practice pages on the bare domain (for the practice's members) and on a firm's host (for
the firm's owner). Thin: practices.services checks who may and writes the firms' logs."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role
from accounts.services import signed_in_user
from authz.actions import Action
from authz.decide import deny, permits
from authz.web import allows
from firms.models import Firm, public_url
from tenants.auditlog.services import Actor, actor_from_request
from tenants.custody.errors import CustodyError
from tenants.custody.forms import BoundedMemoryUploadHandler
from tenants.filings import views as filing_views
from tenants.filings.errors import FilingTooLarge

from . import assignments, filing_archive, services
from .models import Practice, PracticeClient, PracticeMember
from .portfolio import FILTERS, SORTS, deletions_due, people_without_numbers, portfolio


def practice_seat(request: HttpRequest, practice_id: int) -> PracticeMember:
    """The signed-in user's membership of the practice; 404 for a practice not theirs."""
    member = (
        PracticeMember.objects.filter(user=signed_in_user(request), practice_id=practice_id)
        .select_related("practice", "user")
        .first()
    )
    if member is None:
        raise Http404
    return member


def _report(request: HttpRequest, call, success: str) -> bool:
    try:
        call()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    messages.success(request, success)
    return True


@allows(Action.PRACTICE_MANAGE)
@login_required
def practice_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if request.method == "POST":
        created: list[Practice] = []
        ok = _report(
            request,
            lambda: created.append(
                services.practice_create(user=user, name=request.POST.get("name", ""))
            ),
            _("事務所を作成しました。"),
        )
        if ok:
            return redirect("practice_detail", practice_id=created[0].pk)
    return render(request, "practices/list.html", {"seats": services.practices_of(user)})


@allows(Action.PRACTICE_MANAGE)
@login_required
def practice_detail(request: HttpRequest, practice_id: int) -> HttpResponse:
    member = practice_seat(request, practice_id)
    practice = member.practice
    is_admin = member.role == PracticeMember.Role.ADMIN
    # Staff see only the clients they reach (assignments): never another client's name,
    # nor the invitations, which only an admin accepts.
    clients = assignments.reachable_links(
        member,
        practice.clients.filter(status=PracticeClient.Status.ACTIVE).select_related("firm"),
    )
    staff = assignments.staff_by_link(practice.pk)
    members = list(practice.members.select_related("user").order_by("user__email"))
    return render(
        request,
        "practices/detail.html",
        {
            "member": member,
            "practice": practice,
            "members": members,
            "everyone_reaches": [
                m.user.email
                for m in members
                if m.role == PracticeMember.Role.ADMIN or m.all_clients
            ],
            "waiting": practice.clients.filter(
                status=PracticeClient.Status.AWAITING_PRACTICE
            ).select_related("firm")
            if is_admin
            else [],
            "clients": [(link, staff.get(link.pk, [])) for link in clients],
            "is_admin": is_admin,
            "notice_max": settings.COLLECTION_LINK_DAYS - 1,
            "owned_firms": [
                m.firm
                for m in Membership.objects.filter(user=member.user, role=Role.OWNER)
                .select_related("firm")
                .order_by("firm__name")
            ],
        },
    )


@allows(Action.PRACTICE_MANAGE)
@login_required
@require_POST
def member_add(request: HttpRequest, practice_id: int) -> HttpResponse:
    admin = practice_seat(request, practice_id)
    _report(request, lambda: services.member_add(admin=admin, email=request.POST.get("email", "")),
            _("メンバーを追加しました。「担当」から、この方が入れる顧問先を選んでください。"))  # fmt: skip
    return redirect("practice_detail", practice_id=practice_id)


@allows(Action.PRACTICE_MANAGE)
@login_required
@require_POST
def member_remove(request: HttpRequest, practice_id: int, member_id: int) -> HttpResponse:
    admin = practice_seat(request, practice_id)
    member = get_object_or_404(PracticeMember, pk=member_id, practice_id=practice_id)
    _report(request, lambda: services.member_remove(admin=admin, member=member),
            _("メンバーを外しました。担当事業者へのアクセスも終了しました。"))  # fmt: skip
    return redirect("practice_detail", practice_id=practice_id)


@allows(Action.PRACTICE_MANAGE)
@login_required
@require_POST
def billing_firm(request: HttpRequest, practice_id: int) -> HttpResponse:
    admin = practice_seat(request, practice_id)
    slug = request.POST.get("firm", "")
    firm = Firm.objects.filter(slug=slug).first() if slug else None
    _report(request, lambda: services.billing_firm_set(admin=admin, firm=firm),
            _("請求先を設定しました。顧問先の数に応じて会計事務所プランで請求します。"))  # fmt: skip
    return redirect("practice_detail", practice_id=practice_id)


@allows(Action.PRACTICE_MANAGE)
@login_required
@require_POST
def client_new(request: HttpRequest, practice_id: int) -> HttpResponse:
    member = practice_seat(request, practice_id)
    _report(
        request,
        lambda: services.client_create(
            member=member,
            name=request.POST.get("name", ""),
            slug=request.POST.get("slug", "").strip().lower(),
            owner_email=request.POST.get("owner_email", ""),
        ),
        _("事業者を作成し、オーナーになる方に招待を送りました。"),
    )
    return redirect("practice_detail", practice_id=practice_id)


@allows(Action.PRACTICE_MANAGE)
@login_required
@require_POST
def link_accept(request: HttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(PracticeClient, pk=link_id)
    admin = practice_seat(request, link.practice_id)
    _report(request, lambda: services.practice_accept(admin=admin, link=link),
            _("担当を開始しました。"))  # fmt: skip
    return redirect("practice_detail", practice_id=link.practice_id)


@allows(Action.PRACTICE_MANAGE)
@login_required
@require_POST
def link_end(request: HttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(PracticeClient, pk=link_id)
    practice_seat(request, link.practice_id)
    _report(
        request,
        lambda: services.link_end(user=signed_in_user(request), link=link, as_owner=False),
        _("担当を終了しました。"),
    )
    return redirect("practice_detail", practice_id=link.practice_id)


@allows(Action.PORTFOLIO_VIEW)
@login_required
def portfolio_view(request: HttpRequest) -> HttpResponse:
    return _portfolio_page(request)


def _portfolio_page(
    request: HttpRequest,
    *,
    refused: tuple[str, str] | None = None,
    archive_error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The portfolio; `refused` is (a client's slug, why its upload was refused), said on
    that client's row beside its upload form; `archive_error`, why an archive was refused,
    said beside the archive's form."""
    user = signed_in_user(request)
    sort = request.GET.get("sort", "attention")
    only = request.GET.get("only", "")
    rows = portfolio(services.client_firms(user, page="portfolio"), sort=sort, only=only)
    roles = dict(Membership.objects.filter(user=user).values_list("firm_id", "role"))
    for row in rows:
        row.role = roles.get(row.firm.pk, "")
        if refused and refused[0] == row.firm.slug:
            row.upload_error = refused[1]
    return render(
        request,
        "practices/portfolio.html",
        {
            "rows": rows,
            "sort": sort if sort in SORTS else "attention",
            "only": only if only in FILTERS else "",
            "go": lambda slug: public_url(f"/go/{slug}/"),
            "max_mib": f"{settings.FILING_MAX_BYTES / 1024 / 1024:g}",
            "keep_hours": settings.FILING_KEEP_HOURS,
            "any_upload": any(row.may_prepare_filings for row in rows),
            "archive_error": archive_error,
            "archive_max_files": filing_archive.ARCHIVE_MAX_FILES,
        },
        status=status,
    )


@allows(Action.PORTFOLIO_VIEW)
@login_required
@never_cache
@require_POST
@csrf_exempt
def portfolio_filing(request: HttpRequest, slug: str) -> HttpResponse:
    """One client firm's 法定調書 file, uploaded from its row of the portfolio and received in
    that firm (its schema, its keys, its log) as the user's membership there, exactly as on
    the firm's own filings page. The firm is decided before the body is read: one of the
    portfolio's clients (services.client_seat: the authorization layer's memberships, MFA),
    whose role there may prepare a filing (authz permits FILING_PREPARE, so for an accountant
    the firm lets accountants reveal). Anything else is 404, as for a firm that does not
    exist; a member refused is written to the firm's log, as the firm's host would."""
    handler = filing_views.bounded(request)  # before anything reads the body
    seat = services.client_seat(signed_in_user(request), slug)
    if seat is None:
        raise Http404
    link, membership = seat
    with tenant_context(link.firm):
        actor = actor_from_request(request, role=str(membership.role))
        if not permits(membership.role, Action.FILING_PREPARE):
            deny(actor, Action.FILING_PREPARE,
                 detail={"path": request.path[:200], "method": request.method})  # fmt: skip
            raise Http404
    return _portfolio_filing(request, link.firm, actor, handler)


@csrf_protect
def _portfolio_filing(
    request: HttpRequest, firm: Firm, actor: Actor, handler: BoundedMemoryUploadHandler
) -> HttpResponse:
    with tenant_context(firm):
        filing, _form, error, status = filing_views.receive_upload(
            request, handler, actor=actor, firm=firm
        )
    if filing is None:
        # Nothing kept; the refusal is in the firm's log. Said on the client's row.
        return _portfolio_page(request, refused=(firm.slug, error), status=status)
    # The summary is on the firm's host: through the usual hand-off, as the row's links.
    url = f"/go/{firm.slug}/?next=/filings/{filing.pk}/"
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return JsonResponse({"location": url})  # upload.js opens it
    return redirect(url)


@allows(Action.PORTFOLIO_VIEW)
@login_required
@never_cache
@require_POST
@csrf_exempt
def portfolio_filing_archive(request: HttpRequest) -> HttpResponse:
    """One ZIP holding a 法定調書 file per client firm: each file is given to its firm (its
    filer column's 法人番号, else its name) and received there as from that firm's row
    (practices.filing_archive); the page says what became of each file. Read in memory only,
    bounded as one upload (the archive, and what is taken out of it). 404 before the body is
    read when the user has no client firm at all."""
    handler = filing_views.bounded(request)  # before anything reads the body
    seats = services.client_seats(signed_in_user(request))
    if not seats:
        raise Http404
    return _portfolio_filing_archive(request, seats, handler)


@csrf_protect
def _portfolio_filing_archive(
    request: HttpRequest,
    seats: list[tuple[PracticeClient, Membership]],
    handler: BoundedMemoryUploadHandler,
) -> HttpResponse:
    files = request.FILES  # reads the body, through the handler
    if handler.too_large:
        return _portfolio_page(request, archive_error=str(FilingTooLarge.message), status=413)
    archive = files.get("archive")
    if archive is None:
        return _portfolio_page(
            request, archive_error=_("ZIPファイルを選んでください。"), status=400
        )
    try:
        outcomes = filing_archive.receive_archive(request, seats=seats, data=archive.read())
    except filing_archive.ArchiveRefused as refused:
        return _portfolio_page(request, archive_error=refused.message, status=refused.status)
    return render(
        request,
        "practices/filing_archive.html",
        {
            "outcomes": outcomes,
            "taken": sum(1 for outcome in outcomes if outcome.filing is not None),
            "refused": sum(1 for outcome in outcomes if outcome.filing is None),
        },
    )


@allows(Action.PORTFOLIO_VIEW)
@login_required
def new_hires(request: HttpRequest) -> HttpResponse:
    """Everyone without a number across the client firms, to ask them all at once."""
    user = signed_in_user(request)
    links = services.client_firms(user, page="new_hires")
    if request.method == "POST":
        made: dict[str, int] = {}

        def create() -> None:
            made.update(services.request_numbers_across_firms(
                user=user, keys=request.POST.getlist("people"), links=links
            ))  # fmt: skip

        try:
            create()
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except CustodyError as error:
            messages.error(request, str(error.message))
        else:
            summary = _("、").join(
                ngettext("%(firm)s %(count)d件", "%(firm)s %(count)d件", count)
                % {"firm": name, "count": count}
                for name, count in made.items()
            )
            messages.success(
                request, _("提出の依頼を作成しました: %(summary)s") % {"summary": summary}
            )
        return redirect("portfolio_new_hires")
    return render(request, "practices/new_hires.html", {"waiting": people_without_numbers(links)})


@allows(Action.PORTFOLIO_VIEW)
@login_required
def deletions(request: HttpRequest) -> HttpResponse:
    """Every number due for deletion across the client firms, this month and overdue."""
    links = services.client_firms(signed_in_user(request), page="deletions")
    return render(request, "practices/deletions.html", {"due": deletions_due(links)})


# --- on a firm's host: the owner's view of practices ----------------------------------------


@allows(Action.FIRM_SETTINGS)
def firm_practices(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    if not permits(membership.role, Action.FIRM_SETTINGS):
        raise Http404
    if request.method == "POST":
        ok = _report(
            request,
            lambda: services.practice_invite(owner=membership, code=request.POST.get("code", "")),
            _("事務所を招待しました。事務所が承諾すると担当が始まります。"),
        )
        if ok:
            return redirect("firm_practices")
    links = PracticeClient.objects.filter(firm=membership.firm).select_related("practice")
    return render(request, "practices/firm.html", {"links": links})


@allows(Action.FIRM_SETTINGS)
@require_POST
def firm_practice_end(request: HttpRequest, link_id: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    if not permits(membership.role, Action.FIRM_SETTINGS):
        raise Http404
    link = get_object_or_404(PracticeClient, pk=link_id, firm=membership.firm)
    _report(
        request,
        lambda: services.link_end(user=membership.user, link=link, as_owner=True),
        _("事務所のアクセスを取り消しました。"),
    )
    return redirect("firm_practices")
