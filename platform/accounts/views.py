"""The language switch: Django's set_language, and the choice remembered on the account so
the emails someone receives are in the language they use (docs/email.md)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.i18n import set_language as django_set_language

from authz.actions import Action
from authz.web import allows

from . import services


@allows(Action.PUBLIC_PAGE)
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's view (a GET changes nothing there, nor here)."""
    response = django_set_language(request)
    language = request.POST.get("language", "") if request.method == "POST" else ""
    if language in dict(settings.LANGUAGES) and request.user.is_authenticated:
        services.user_set_language(services.signed_in_user(request), language)
    return response
