"""Help pages for owners, handlers and the people asked for their numbers. Open to anyone on
the bare domain (the submission page links here); on a firm's host the same pages are for its
members, behind the usual access policy."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from authz.actions import Action
from authz.web import allows


@allows(Action.PUBLIC_PAGE)
def help_index(request: HttpRequest) -> HttpResponse:
    return render(request, "help/index.html")


@allows(Action.PUBLIC_PAGE)
def help_employees(request: HttpRequest) -> HttpResponse:
    """For the people asked for their number: in their language (issue 18)."""
    from tenants.collection import languages

    return languages.render_for_person(request, "help/employees.html", {},
                                       language=languages.for_person(request))  # fmt: skip


@allows(Action.PUBLIC_PAGE)
def help_owners(request: HttpRequest) -> HttpResponse:
    return render(request, "help/owners.html")


@allows(Action.PUBLIC_PAGE)
def help_handlers(request: HttpRequest) -> HttpResponse:
    return render(request, "help/handlers.html")
