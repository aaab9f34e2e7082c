"""The public page of anchored roots, on the bare domain: anyone (a firm, an auditor, the PPC)
can note a day's root and the platform's public keys, and later check an export against
them (docs/access-log.md, "Anchored roots")."""

from __future__ import annotations

import base64

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from authz.actions import Action
from authz.web import allows

from .models import AnchoredRoot
from .signing import key_id, verification_keys

# A year of daily anchors and some on demand; older ones stay in the write-once store.
PAGE_SIZE = 400
KEYS_CACHE_SECONDS = 600


def _published_keys() -> list[dict[str, str | bool]]:
    """The platform's public keys, current first; cached, since the page is public and the
    keys are read from the write-once store."""
    keys = cache.get("audit:anchor-page-keys")
    if keys is None:
        current = key_id()
        keys = sorted(
            (
                {"key_id": kid, "public_key": base64.b64encode(raw).decode(),
                 "current": kid == current}
                for kid, raw in verification_keys().items()
            ),
            key=lambda key: (not key["current"], key["key_id"]),
        )  # fmt: skip
        cache.set("audit:anchor-page-keys", keys, KEYS_CACHE_SECONDS)
    return keys


@allows(Action.PUBLIC_PAGE)
def anchors(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "audit/anchors.html",
        {"anchors": AnchoredRoot.objects.all()[:PAGE_SIZE], "keys": _published_keys()},
    )
