"""DRF's exception handler for the firm API: the error layer's table (config.error_layer)
answers domain errors as JSON {"detail", "code"}; DRF answers its own. Never a number, never
a stack trace; anything else stays a 500."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from config.error_layer import api_response


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        # get_object_or_404's text names the model in English ("No Person matches the given
        # query."): every missing or other firm's id gets the same plain, translated answer.
        exc = exceptions.NotFound()
    response = api_response(exc)
    if response is not None:
        return response
    return drf_exception_handler(exc, context)
