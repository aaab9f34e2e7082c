"""Reading a form's document files: each checked by content, none trusted by name."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

from . import documents as document_files
from .services import Upload

MAX_FILES_PER_KIND = 4


def read_uploads(request: HttpRequest, kinds: Iterable[str], errors: dict) -> list[Upload]:
    """The checked files of each kind, from `document_<kind>` and `camera_<kind>` inputs;
    problems go into `errors` under `document_<kind>`."""
    uploads = []
    for kind in kinds:
        files = request.FILES.getlist(f"document_{kind}") + request.FILES.getlist(f"camera_{kind}")
        if len(files) > MAX_FILES_PER_KIND:
            errors[f"document_{kind}"] = [
                _("1種類につき%(max)d枚までです。枚数を減らして、もう一度選んでください。")
                % {"max": MAX_FILES_PER_KIND}
            ]
            continue
        for uploaded in files:
            try:
                checked = document_files.check_upload(
                    document_files.read_upload(uploaded, settings.DOCUMENT_MAX_BYTES)
                )
            except document_files.DocumentRejected as rejected:
                errors.setdefault(f"document_{kind}", []).append(str(rejected.message))
                continue
            name = document_files.display_name(uploaded.name or "")
            uploads.append(Upload(kind=kind, document=checked, name=name))
    return uploads
