"""The assignment page (担当) on the bare domain: one staff member's clients, every client of
the practice listed with a checkbox, saved in one POST (a practice has 50 to 300 clients).
Thin: practices.assignments checks that the user is the practice's admin and writes the
clients' logs."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from authz.actions import Action
from authz.web import allows

from . import assignments
from .models import PracticeClient, PracticeMember
from .views import practice_seat


def _ids(values: list[str]) -> list[int]:
    if not all(value.isdigit() for value in values):
        raise ValidationError(_("選択内容が正しくありません。画面を再読み込みしてください。"))
    return [int(value) for value in values]


def _links(ids: list[int]) -> list[PracticeClient]:
    # Not narrowed to the practice here: the service refuses a link of another practice
    # rather than have it dropped silently.
    found = list(PracticeClient.objects.filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise ValidationError(_("選択内容が正しくありません。画面を再読み込みしてください。"))
    return found


@allows(Action.PRACTICE_MANAGE)
@login_required
def member_clients(request: HttpRequest, practice_id: int, member_id: int) -> HttpResponse:
    """One staff member's clients: check those they look after, or all of them."""
    admin = practice_seat(request, practice_id)
    member = get_object_or_404(
        PracticeMember.objects.select_related("user"), pk=member_id, practice_id=practice_id
    )
    query = request.GET.get("q", "").strip()[:100]
    here = reverse("practice_member_clients", args=[practice_id, member_id])
    if query:
        here += "?" + urlencode({"q": query})
    if request.method == "POST":
        try:
            added, removed = assignments.assignments_save(
                admin=admin,
                member=member,
                shown=_links(_ids(request.POST.getlist("shown"))),
                chosen=_links(_ids(request.POST.getlist("clients"))),
                all_clients=request.POST.get("all_clients") == "1",
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("担当を保存しました（追加 %(added)d社、解除 %(removed)d社）。")
                % {"added": added, "removed": removed},
            )
        if admin.role != PracticeMember.Role.ADMIN:
            return redirect("practice_detail", practice_id=practice_id)
        return redirect(here)
    # The page names every client of the practice: for its admins only.
    if admin.role != PracticeMember.Role.ADMIN:
        raise PermissionDenied
    links = PracticeClient.objects.filter(
        practice_id=practice_id, status=PracticeClient.Status.ACTIVE
    ).select_related("firm")
    if query:
        links = links.filter(firm__name__icontains=query) | links.filter(
            firm__slug__icontains=query
        )
    links = links.order_by("firm__name", "pk")
    assigned = assignments.assigned_links(member)
    return render(
        request,
        "practices/assignments.html",
        {
            "practice": admin.practice,
            "member": member,
            "query": query,
            "rows": [(link, link.pk in assigned) for link in links],
        },
    )
