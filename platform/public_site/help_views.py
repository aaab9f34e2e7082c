"""Help pages for owners, handlers and the people asked for their numbers. Open to anyone on
the bare domain (the submission page links here); on a firm's host the same pages are for its
members, behind the usual access policy."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def help_index(request: HttpRequest) -> HttpResponse:
    return render(request, "help/index.html")


def help_employees(request: HttpRequest) -> HttpResponse:
    return render(request, "help/employees.html")


def help_owners(request: HttpRequest) -> HttpResponse:
    return render(request, "help/owners.html")


def help_handlers(request: HttpRequest) -> HttpResponse:
    return render(request, "help/handlers.html")
