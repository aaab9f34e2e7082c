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
        uploads += _checked(files, kind, f"document_{kind}", errors)
    return uploads


def read_abroad_uploads(
    request: HttpRequest, wanted: Iterable[tuple[int, Iterable[str]]], errors: dict
) -> list[Upload]:
    """A dependant abroad's documents: for each (person id, kinds), the files of
    `abroad_<id>_<kind>` and `abroad_camera_<id>_<kind>`, checked like every document;
    problems go into `errors` under `abroad_<id>_<kind>`."""
    uploads = []
    for person_id, kinds in wanted:
        for kind in kinds:
            key = f"abroad_{person_id}_{kind}"
            files = request.FILES.getlist(key) + request.FILES.getlist(
                f"abroad_camera_{person_id}_{kind}"
            )
            uploads += _checked(files, kind, key, errors, person_id=person_id)
    return uploads


def _checked(files: list, kind: str, key: str, errors: dict,
             person_id: int | None = None) -> list[Upload]:  # fmt: skip
    if len(files) > MAX_FILES_PER_KIND:
        errors[key] = [
            _("1種類につき%(max)d枚までです。枚数を減らして、もう一度選んでください。")
            % {"max": MAX_FILES_PER_KIND}
        ]
        return []
    uploads = []
    for uploaded in files:
        try:
            checked = document_files.check_upload(
                document_files.read_upload(uploaded, settings.DOCUMENT_MAX_BYTES)
            )
        except document_files.DocumentRejected as rejected:
            errors.setdefault(key, []).append(str(rejected.message))
            continue
        name = document_files.display_name(uploaded.name or "")
        uploads.append(Upload(kind=kind, document=checked, name=name, person_id=person_id))
    return uploads
