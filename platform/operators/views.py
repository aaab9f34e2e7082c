"""The operator console (bare domain, operators only, MFA always: see AccessPolicyMiddleware)."""

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.utils import get_public_schema_name

from firms.models import Firm


def console(request: HttpRequest) -> HttpResponse:
    firms = (
        Firm.objects.exclude(schema_name=get_public_schema_name())
        .select_related("key")
        .annotate(member_count=Count("memberships"))
    )
    return render(request, "operators/console.html", {"firms": firms})
