"""Firm offboarding (issue 5): the owner asks to leave, confirmed with a fresh TOTP code; then

1. the final export: one zip the owner downloads (people, masked unless the owner chose to
   include numbers, each number's export logged per person; the deletion records; the full
   access log as a signed audit export), sealed in chunks with the firm's own envelope keys
   (keys.chunked) under the firm's folder in object storage, so the key's destruction makes
   every copy of it unreadable;
2. billing stops (the Stripe subscription is canceled; billing off: nothing);
3. crypto-shredding, once the owner confirms the download or OFFBOARDING_EXPORT_DAYS after
   the export was ready: keys.envelope.destroy_firm_key (aws: ScheduleKeyDeletion with the
   shortest window, 7 days; local: the KEK erased; BYOK: the wrapped data keys erased), and
   the archive is removed with it;
4. OFFBOARDING_DROP_DAYS after the shredding (default 7, the KMS pending window) every object
   under the firm's folder goes with all its versions, a listing proves none is left, then
   the schema is dropped and the firm's public rows go; the OffboardingRecord (public
   schema) stays and is the offboarding certificate's source.

Steps 2-4 are driven by `offboarding_sweep` (beat `firms.offboarding_sweep`, hourly, and
`./manage.py offboard_sweep`). Each step decides from stored state under a row lock, so the
sweep is safe to rerun and to run twice at once. Every step is written to the firm's own
access log (action "offboarding", detail.event) while the schema exists, and to the
operator log. docs/retention.md, "Offboarding".
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import (
    get_public_schema_name,
    schema_context,
    tenant_context,
)
from psycopg import sql

from accounts import mail
from accounts.models import Membership, Role, User
from authz.actions import Action
from authz.decide import permits
from config import pdf
from config.progress import DONE, FAILED, QUEUED, RUNNING, ProgressWriter, job_status
from keys.errors import CiphertextInvalid
from operators.log import log_operator_action
from tenants.auditlog.privacy import looks_like_my_number
from tenants.auditlog.services import Actor, log_access, log_access_denied, log_in_firm

from .models import Firm, FirmKey, OffboardingRecord, firm_url

logger = logging.getLogger(__name__)

ACTION = "offboarding"  # the firm log's action; detail.event says which step
SYSTEM = "offboarding"  # Actor.system reason, and "system:offboarding" in the operator log
# The archive's field in the associated data of its chunks (keys.chunked); its record is
# "offboarding:<record id>".
ARCHIVE_FIELD = "offboarding_archive"
HASH_BLOCK = 1024 * 1024
# An export that started this long ago without finishing is taken over by the sweep.
EXPORT_LEASE = timedelta(hours=1)
# "All time" for the access log part of the archive.
LOG_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
MASKED = "************"

PEOPLE_COLUMNS = (
    "person_id", "kind", "employee_id", "relationship", "family_name", "given_name",
    "family_name_kana", "given_name_kana", "birth_date", "relationship_start",
    "relationship_end", "status", "my_number", "purposes", "code", "language",
)  # fmt: skip


class OffboardingError(ValidationError):
    """A refusal to show the owner (wrong code, wrong stage)."""


# --- helpers -------------------------------------------------------------------------------


def export_days() -> int:
    return int(settings.OFFBOARDING_EXPORT_DAYS)


def drop_days() -> int:
    return int(settings.OFFBOARDING_DROP_DAYS)


def _owner_actor(user: User, actor: Actor | None) -> Actor:
    if actor is not None:
        return actor
    return Actor(user_id=user.pk, email=user.email, role=Role.OWNER)


def totp_matches(user: User, code: str) -> bool:
    """A current TOTP code of one of the user's TOTP authenticators, checked by allauth (which
    also refuses a code already used in its window)."""
    code = "".join((code or "").split())
    if not code.isdigit():
        return False
    for authenticator in Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP):
        if TOTP(authenticator).validate_code(code):
            return True
    return False


def has_totp(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def _require_owner(membership: Membership, *, actor: Actor, event: str) -> None:
    if not permits(membership.role, Action.OFFBOARD):
        with tenant_context(membership.firm):
            log_access_denied(actor=actor, action=ACTION, detail={"event": event})
        raise PermissionDenied(
            _("解約の手続きはオーナーだけが行えます。オーナーに依頼してください。")
        )


def _require_totp(membership: Membership, code: str, *, actor: Actor, event: str) -> None:
    if not totp_matches(membership.user, code):
        with tenant_context(membership.firm):
            log_access_denied(actor=actor, action=ACTION, detail={"event": event, "reason": "mfa"})
        raise OffboardingError(
            _(
                "確認コードが正しくありません。認証アプリに表示されている最新の6桁を入力してください。"
            )
        )


def _firm_log(firm: Firm, actor: Actor, event: str, **detail: Any) -> None:
    """One entry in the firm's log, in the caller's transaction (if the schema still exists)."""
    log_in_firm(firm, actor=actor, action=ACTION, detail={"event": event, **detail})


def _operator_log(firm: Firm | None, actor_email: str, action: str, *,
                  user_id: int | None = None, **detail: Any) -> None:  # fmt: skip
    with schema_context(get_public_schema_name()):
        log_operator_action(actor_email=actor_email, actor_user_id=user_id, action=action,
                            firm=firm, detail=detail)  # fmt: skip


def record_for(firm: Firm) -> OffboardingRecord | None:
    return OffboardingRecord.objects.filter(firm=firm).first()


# --- 1. the request ------------------------------------------------------------------------


def offboarding_request(
    owner_membership: Membership,
    *,
    include_numbers: bool,
    totp_code: str,
    actor: Actor | None = None,
) -> OffboardingRecord:
    """The owner asks to leave, confirmed with a current TOTP code. The firm becomes
    OFFBOARDING (new data refused), both logs record it and the choice about numbers, and
    after the commit the background task makes the export and stops billing."""
    user = owner_membership.user
    firm = owner_membership.firm
    actor = _owner_actor(user, actor)
    _require_owner(owner_membership, actor=actor, event="request")
    _require_totp(owner_membership, totp_code, actor=actor, event="request")
    now = timezone.now()
    with transaction.atomic():
        firm = Firm.objects.select_for_update().get(pk=firm.pk)
        if firm.status == Firm.Status.OFFBOARDING or record_for(firm) is not None:
            raise OffboardingError(_("この事業者は既に解約手続中です。"))
        firm.status = Firm.Status.OFFBOARDING
        firm.save(update_fields=["status"])
        owners = list(
            Membership.objects.filter(firm=firm, role=Role.OWNER).values_list("user_id", flat=True)
        )
        record = OffboardingRecord.objects.create(
            firm=firm, firm_pk=firm.pk, firm_name=firm.name, firm_slug=firm.slug,
            schema_name=firm.schema_name, requested_by=user, requested_by_email=user.email,
            owner_user_ids=sorted(owners), include_numbers=bool(include_numbers),
            requested_at=now,
        )  # fmt: skip
        detail = {"record": str(record.pk), "include_numbers": bool(include_numbers)}
        _operator_log(firm, user.email, "offboarding_request", user_id=user.pk, **detail)
        _firm_log(firm, actor, "request", **detail)
        record_id = str(record.pk)
        transaction.on_commit(lambda: _enqueue_start(record_id))
    return record


def offboarding_start_by_operator(*, operator: User, firm: Firm, reason: str) -> OffboardingRecord:
    """An operator starts offboarding (e.g. the contract ended and the firm does not answer).
    The same steps follow, numbers are never included in the archive, and the owners are told
    by email: they still get the archive before anything is destroyed."""
    if not operator.is_operator:
        raise OffboardingError(_("この操作は運用者だけが行えます。"))
    reason = reason.strip()
    if not reason:
        raise OffboardingError(_("理由を入力してください。"))
    if looks_like_my_number(reason):
        raise OffboardingError(_("理由にマイナンバーを書かないでください。"))
    actor = Actor(user_id=operator.pk, email=operator.email, role="operator")
    with transaction.atomic():
        firm = Firm.objects.select_for_update().get(pk=firm.pk)
        if firm.status == Firm.Status.OFFBOARDING or record_for(firm) is not None:
            raise OffboardingError(_("この事業者は既に解約手続中です。"))
        firm.status = Firm.Status.OFFBOARDING
        firm.save(update_fields=["status"])
        owners = list(Membership.objects.filter(firm=firm, role=Role.OWNER).select_related("user"))
        record = OffboardingRecord.objects.create(
            firm=firm, firm_pk=firm.pk, firm_name=firm.name, firm_slug=firm.slug,
            schema_name=firm.schema_name, requested_by=operator,
            requested_by_email=operator.email,
            owner_user_ids=sorted(m.user_id for m in owners), include_numbers=False,
            requested_at=timezone.now(),
        )  # fmt: skip
        detail = {"record": str(record.pk), "include_numbers": False, "by_operator": True,
                  "reason": reason[:500]}  # fmt: skip
        _operator_log(firm, operator.email, "offboarding_request", user_id=operator.pk, **detail)
        _firm_log(firm, actor, "request", **detail)
        record_id = str(record.pk)
        owner_users = [m.user for m in owners]
        transaction.on_commit(lambda: _enqueue_start(record_id))
        transaction.on_commit(lambda: _tell_owners(firm, owner_users))
    return record


def _tell_owners(firm: Firm, owners: list[User]) -> None:
    """Each owner, in their own language: the operator started offboarding, and where the
    final export will be."""
    link = firm_url(firm.slug, "/offboarding/")
    mail.send_to_users("firms/offboarding_started", {"firm": firm, "link": link}, owners)


def _enqueue_start(record_id: str) -> None:
    from config.celery import send_or_log

    from .tasks import offboarding_start

    # The hourly offboarding sweep makes the export of any record still at REQUESTED.
    send_or_log(offboarding_start, [record_id], what="firms.offboarding_start")


def offboarding_start(record_id: str) -> OffboardingRecord:
    """The background task's body: stop billing, then make the export."""
    record = OffboardingRecord.objects.get(pk=record_id)
    try:
        offboarding_stop_billing(record)
    except Exception:
        # Billing is retried by the sweep; it never holds up the firm's export.
        logger.exception("OFFBOARDING_BILLING_FAILED firm=%s", record.firm_slug)
    return offboarding_export(record)


# --- 2. the final export -------------------------------------------------------------------


def archive_key(record: OffboardingRecord) -> str:
    """Under the firm's folder, so the drop's deletion of the folder (and its proof) covers it."""
    return f"{record.schema_name}/offboarding/{record.pk}.zip"


def objects_prefix(record: OffboardingRecord) -> str:
    """The folder of every object of the firm (documents, the archive)."""
    return f"{record.schema_name}/"


def _archive_record(record: OffboardingRecord) -> str:
    return f"offboarding:{record.pk}"


def _unseal_archive(firm: Firm, record: OffboardingRecord, stream: Any) -> Iterator[bytes]:
    from keys.chunked import unseal_chunks

    return unseal_chunks(firm, stream, record=_archive_record(record), field=ARCHIVE_FIELD)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        for block in iter(lambda: reader.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _claim_export(record: OffboardingRecord, now: datetime) -> bool:
    """Only one export at a time; one whose worker died is taken over after EXPORT_LEASE."""
    return bool(
        OffboardingRecord.objects.filter(pk=record.pk, stage=OffboardingRecord.Stage.REQUESTED)
        .filter(Q(export_started_at__isnull=True) | Q(export_started_at__lt=now - EXPORT_LEASE))
        .update(export_started_at=now, export_done=0, export_total=0)
    )


def offboarding_export(
    record: OffboardingRecord, *, now: datetime | None = None
) -> OffboardingRecord:
    """Make the archive, seal it and store it; the record becomes EXPORTED. Does nothing if
    another run holds the export or it is done."""
    now = now or timezone.now()
    if record.firm is None or not _claim_export(record, now):
        record.refresh_from_db()
        return record
    firm = record.firm
    try:
        with tempfile.TemporaryDirectory() as folder:
            sealed = Path(folder) / "archive.sealed"
            with open(sealed, "wb") as target:
                built = _build_archive(record, firm, Path(folder), target)
            key = archive_key(record)
            from objectstore import object_store

            object_store().put_file(key, sealed)
        counts = built.counts
    except Exception as error:
        OffboardingRecord.objects.filter(pk=record.pk).update(
            export_started_at=None, export_error=type(error).__name__[:100]
        )
        logger.exception("OFFBOARDING_EXPORT_FAILED firm=%s", record.firm_slug)
        raise
    with transaction.atomic():
        record = OffboardingRecord.objects.select_for_update().get(pk=record.pk)
        record.archive_key = key
        record.archive_sha256 = built.sha256
        record.archive_size = built.size
        record.people_count = counts["people"]
        record.numbers_exported = counts["numbers"]
        record.deletion_records_count = counts["deletion_records"]
        record.log_entries = counts["log_entries"]
        record.export_ready_at = timezone.now()
        record.export_error = ""
        record.stage = OffboardingRecord.Stage.EXPORTED
        record.save()
        _operator_log(firm, f"system:{SYSTEM}", "offboarding_export", **counts,
                      include_numbers=record.include_numbers, sha256=record.archive_sha256)  # fmt: skip
    return record


def _export_actor(record: OffboardingRecord) -> Actor:
    """The export is made for the owner who asked: their name goes on each number's entry."""
    return Actor(user_id=record.requested_by_id, email=record.requested_by_email,
                 role=Role.OWNER)  # fmt: skip


@dataclass
class _Archive:
    sha256: str
    size: int
    counts: dict[str, int]


def _build_archive(record: OffboardingRecord, firm: Firm, folder: Path,
                   sealed: BinaryIO) -> _Archive:  # fmt: skip
    """The zip, streamed member by member straight into the firm's sealing (keys.chunked):
    no plaintext of the archive (numbers included) is ever on disk or whole in memory. Only
    the access log (no numbers) goes through a file in `folder`, as audit exports do."""
    from keys.chunked import SealingWriter

    actor = _export_actor(record)
    writer = SealingWriter(firm, sealed, record=_archive_record(record), field=ARCHIVE_FIELD)
    with (
        tenant_context(firm),
        _progress(record) as progress,
        writer,
        zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        progress.update(0, _export_size(record))
        archive.writestr("README.txt", _readme(record).encode("utf-8"))
        hashes: dict[str, str] = {}
        with _member(archive, "people.csv", hashes) as text:
            people, numbers = _write_people(record, firm, actor, text, progress=progress.update)
        with _member(archive, "deletion_records.csv", hashes) as text:
            deletion_count = _write_deletions(text)
        with transaction.atomic():
            log_access(actor=actor, action=ACTION,
                       detail={"event": "export", "include_numbers": record.include_numbers,
                               "people": people, "numbers": numbers})  # fmt: skip
        # Last, so the log in the archive holds the export's own entries.
        from audit.export import export_audit

        out = folder / "access_log.jsonl"
        result = export_audit(firms=[firm], since=LOG_SINCE,
                              until=timezone.now() + timedelta(seconds=1), out=out,
                              progress=lambda _firms, entries: progress.update(people + entries))  # fmt: skip
        archive.write(out, "access_log.jsonl")
        hashes["access_log.jsonl"] = _file_sha256(out)
        counts = {"people": people, "numbers": numbers, "deletion_records": deletion_count,
                  "log_entries": result.entries}  # fmt: skip
        manifest = {
            "firm": firm.slug,
            "firm_name": firm.name,
            "record": str(record.pk),
            "created_at": timezone.now().isoformat(),
            "include_numbers": record.include_numbers,
            "counts": counts,
            "access_log_key_fingerprint": result.fingerprint,
            "files": hashes,
        }
        archive.writestr(
            "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        )
    return _Archive(sha256=writer.sha256, size=writer.size, counts=counts)


@contextmanager
def _member(archive: zipfile.ZipFile, name: str, hashes: dict[str, str]) -> Iterator[Any]:
    """A CSV member written as text (UTF-8 with a BOM, for Excel) into the zip as it goes;
    its SHA-256 lands in `hashes` for the manifest."""
    with archive.open(name, "w") as raw:
        hashing = _Hashing(raw)
        text = io.TextIOWrapper(cast(BinaryIO, hashing), encoding="utf-8-sig", newline="",
                                write_through=True)  # fmt: skip
        yield text
        text.flush()
        text.detach()
    hashes[name] = hashing.digest.hexdigest()


class _Hashing(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self.raw = raw
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.raw.write(data)
        return len(data)


def _readme(record: OffboardingRecord) -> str:
    numbers = (
        "people.csv の my_number 列に個人番号が含まれています（オーナーが選択）。厳重に管理してください。"
        if record.include_numbers
        else "個人番号は含まれていません（my_number 列はマスク表示）。"
    )
    return (
        f"{record.firm_name} 最終エクスポート\n\n"
        "people.csv            登録者の一覧（UTF-8, BOM付き）。" + numbers + "\n"
        "deletion_records.csv  削除記録（個人番号は含みません）。\n"
        "access_log.jsonl      全期間のアクセス記録。署名付きで、verify_audit_export.py で検証できます。\n"
        "manifest.json         各ファイルの SHA-256 と件数。\n"
    )


# --- the export's progress ------------------------------------------------------------------

PROGRESS_EVERY = 500  # people between progress reports


def _progress(record: OffboardingRecord) -> ProgressWriter:
    """Writes export_done / export_total on the record (public schema) through its own
    connection, as the export goes (config.progress)."""
    return ProgressWriter(OffboardingRecord, record.pk, done_field="export_done",
                          total_field="export_total", schema=get_public_schema_name())  # fmt: skip


def _export_size(record: OffboardingRecord) -> int:
    """What the export goes through, in the firm's schema: its people, then its log, with
    the entries the export itself adds (one per number exported, one for the export)."""
    from tenants.auditlog.models import AccessLogEntry
    from tenants.custody.models import MyNumberRecord, Person

    added = 1 + (MyNumberRecord.objects.count() if record.include_numbers else 0)
    return Person.objects.count() + AccessLogEntry.objects.count() + added


def export_progress(record: OffboardingRecord) -> dict[str, Any]:
    """The final export's progress (config.progress.job_status): queued until a run starts,
    running, done once the archive is ready, failed while it waits for the sweep's retry."""
    if record.stage != OffboardingRecord.Stage.REQUESTED:
        status = DONE
    elif record.export_started_at is not None:
        status = RUNNING
    elif record.export_error:
        status = FAILED
    else:
        status = QUEUED
    return job_status(
        status=status, done=record.export_done, total=record.export_total,
        started_at=record.export_started_at,
        error=_("最終エクスポートの作成に失敗しました。自動で再試行します。")
        if status == FAILED
        else "",
    )  # fmt: skip


def _write_people(
    record: OffboardingRecord, firm: Firm, actor: Actor, buffer: Any, *, progress: Any = None
) -> tuple[int, int]:
    from tenants.custody.models import Person

    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PEOPLE_COLUMNS)
    people = numbers = 0
    rows = Person.objects.select_related("my_number").order_by("pk")
    for person in rows.iterator(chunk_size=500):
        number, purposes = "", ""
        record_row = getattr(person, "my_number", None)
        if record_row is not None:
            purposes = " ".join(sorted(record_row.purposes.values_list("code", flat=True)))
            if record.include_numbers:
                number = _export_number(firm, person, record_row, actor)
                numbers += 1
            else:
                number = MASKED
        writer.writerow((
            person.pk, person.kind, person.employee_id or "", person.relationship,
            person.family_name, person.given_name, person.family_name_kana,
            person.given_name_kana, person.birth_date or "", person.relationship_start or "",
            person.relationship_end or "", person.status, number, purposes, person.code,
            person.language,
        ))  # fmt: skip
        people += 1
        if progress is not None and people % PROGRESS_EVERY == 0:
            progress(people)
    if progress is not None:
        progress(people)
    return people, numbers


def _export_number(firm: Firm, person: Any, record_row: Any, actor: Actor) -> str:
    """As tenants.custody.services.numbers_export: the person's entry commits with the
    decryption, before the number goes anywhere."""
    from keys.envelope import unseal
    from tenants.custody.services import NUMBER_FIELD

    with transaction.atomic():
        log_access(actor=actor, action="export", person_id=person.pk,
                   detail={"offboarding": True})  # fmt: skip
        plaintext = unseal(firm, bytes(record_row.ciphertext), record=f"person:{person.pk}",
                           field=NUMBER_FIELD)  # fmt: skip
    return plaintext.decode()


def _write_deletions(buffer: Any) -> int:
    from tenants.retention.certificate import CSV_COLUMNS, csv_rows
    from tenants.retention.models import DeletionRecord

    records = list(DeletionRecord.objects.order_by("deleted_at", "pk"))
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(records):
        writer.writerow(row)
    return len(records)


def offboarding_archive_stream(
    owner_membership: Membership, *, actor: Actor | None = None
) -> Iterator[bytes]:
    """The archive's plaintext, chunk by chunk (keys.chunked), for the firm's owners, until
    the key is destroyed. The first chunk is opened before the download is logged: a key
    already destroyed (KeyUnavailable) or a damaged blob (CiphertextInvalid) is raised here,
    with nothing logged as downloaded. Close the iterator (or read it to the end)."""
    actor = _owner_actor(owner_membership.user, actor)
    _require_owner(owner_membership, actor=actor, event="archive_download")
    firm = owner_membership.firm
    record = record_for(firm)
    if record is None or record.stage != OffboardingRecord.Stage.EXPORTED or not record.archive_key:
        raise OffboardingError(_("ダウンロードできる最終エクスポートはありません。"))
    from objectstore import object_store

    stream = object_store().open(record.archive_key)
    try:
        chunks = _unseal_archive(firm, record, stream)
        first = next(chunks)
        with transaction.atomic():
            OffboardingRecord.objects.filter(
                pk=record.pk, archive_downloaded_at__isnull=True
            ).update(archive_downloaded_at=timezone.now())
            _firm_log(firm, actor, "archive_download", sha256=record.archive_sha256)
    except CiphertextInvalid:
        stream.close()
        # An archive that does not authenticate is the integrity signal the log is for: the
        # attempt goes on record as refused (outside any transaction), then 409.
        with tenant_context(firm):
            log_access_denied(actor=actor, action=ACTION,
                              detail={"event": "archive_download", "reason": "integrity_failure"})  # fmt: skip
        raise
    except BaseException:
        stream.close()
        raise
    return _then_close(first, chunks, stream)


def _then_close(first: bytes, rest: Iterator[bytes], stream: BinaryIO) -> Iterator[bytes]:
    try:
        yield first
        yield from rest
    finally:
        stream.close()


def offboarding_archive(owner_membership: Membership, *, actor: Actor | None = None) -> bytes:
    """The archive's bytes whole (offboarding_archive_stream, joined)."""
    return b"".join(offboarding_archive_stream(owner_membership, actor=actor))


def offboarding_confirm_downloaded(
    owner_membership: Membership, *, totp_code: str, actor: Actor | None = None
) -> OffboardingRecord:
    """The owner confirms (with a fresh TOTP code) that the archive is safely downloaded: the
    key is destroyed now instead of at the end of the download window."""
    actor = _owner_actor(owner_membership.user, actor)
    _require_owner(owner_membership, actor=actor, event="confirm_download")
    record = record_for(owner_membership.firm)
    if record is None or record.stage != OffboardingRecord.Stage.EXPORTED:
        raise OffboardingError(_("確認できる最終エクスポートはありません。"))
    if record.archive_downloaded_at is None:
        raise OffboardingError(_("先に最終エクスポートをダウンロードしてください。"))
    _require_totp(owner_membership, totp_code, actor=actor, event="confirm_download")
    with transaction.atomic():
        OffboardingRecord.objects.filter(pk=record.pk).update(download_confirmed_at=timezone.now())
        _firm_log(owner_membership.firm, actor, "confirm_download")
    record.refresh_from_db()
    return offboarding_shred(record)


# --- billing -------------------------------------------------------------------------------


def offboarding_stop_billing(record: OffboardingRecord) -> str:
    from billing.services import billing_stop

    if record.billing_stopped_at is not None or record.firm is None:
        return record.billing_result
    result = billing_stop(record.firm)
    with transaction.atomic():
        updated = OffboardingRecord.objects.filter(
            pk=record.pk, billing_stopped_at__isnull=True
        ).update(billing_stopped_at=timezone.now(), billing_result=result)
        if updated:
            _operator_log(record.firm, f"system:{SYSTEM}", "offboarding_billing_stop",
                          result=result)  # fmt: skip
    record.refresh_from_db()
    return result


# --- 3. crypto-shredding -------------------------------------------------------------------


def shred_due(record: OffboardingRecord, now: datetime) -> bool:
    if record.stage != OffboardingRecord.Stage.EXPORTED:
        return False
    if record.download_confirmed_at is not None:
        return True
    ready = record.export_ready_at
    return ready is not None and ready + timedelta(days=export_days()) <= now


def offboarding_shred(
    record: OffboardingRecord, *, now: datetime | None = None
) -> OffboardingRecord:
    """Destroy the firm's key (keys.envelope.destroy_firm_key) and the archive with it. Both
    logs record the key id and provider. A provider refusal rolls everything back; the next
    sweep tries again (ScheduleKeyDeletion repeated is a no-op)."""
    from keys.aws import DELETION_WINDOW_DAYS
    from keys.envelope import destroy_firm_key

    now = now or timezone.now()
    with transaction.atomic():
        record = OffboardingRecord.objects.select_for_update().get(pk=record.pk)
        firm = record.firm
        if record.stage != OffboardingRecord.Stage.EXPORTED or firm is None:
            return record
        firm_key = FirmKey.objects.get(firm=firm)
        record.key_provider, record.key_id, record.key_byok = (
            firm_key.provider,
            firm_key.key_id,
            firm_key.byok,
        )
        if firm_key.provider == "aws" and not firm_key.byok:
            record.key_deletion_date = now + timedelta(days=DELETION_WINDOW_DAYS)
        detail: dict[str, Any] = {"key_provider": firm_key.provider, "key_id": _key_label(firm_key),
                  "byok": firm_key.byok}  # fmt: skip
        # The firm's entry first: its log is not encrypted with the key, and the entry is the
        # last one the firm's chain will get that names the key.
        _firm_log(firm, Actor.system(SYSTEM), "key_destroy", **detail)
        destroy_firm_key(firm)
        archive_key = record.archive_key
        record.archive_key = ""
        record.key_destroyed_at = now
        record.stage = OffboardingRecord.Stage.SHREDDED
        record.save()
        _operator_log(firm, f"system:{SYSTEM}", "offboarding_key_destroy", **detail)
        if archive_key:
            transaction.on_commit(lambda: _delete_objects([archive_key]))
    return record


def _key_label(firm_key: FirmKey) -> str:
    return key_label(firm_key.key_id, byok=firm_key.byok)


def key_label(key_id: str, *, byok: bool) -> str:
    """The key id for the logs and the certificate. A BYOK ARN carries the firm's AWS account
    id (12 digits, shaped like a My Number, masked by the logs): keep only the key part."""
    if byok and "/" in key_id:
        return "key/" + key_id.rsplit("/", 1)[-1]
    return key_id


def _delete_objects(keys: list[str]) -> None:
    from objectstore import object_store

    store = object_store()
    for key in keys:
        try:
            store.delete(key)
        except Exception:
            logger.exception("OFFBOARDING_OBJECT_DELETE_FAILED key=%s", key)


# --- 4. the schema drop --------------------------------------------------------------------


def drop_due(record: OffboardingRecord, now: datetime) -> bool:
    destroyed = record.key_destroyed_at
    return (
        record.stage == OffboardingRecord.Stage.SHREDDED
        and destroyed is not None
        and destroyed + timedelta(days=drop_days()) <= now
    )


def offboarding_drop(
    record: OffboardingRecord, *, now: datetime | None = None
) -> OffboardingRecord:
    """Remove every object under the firm's folder, every version included, and prove by
    listing that none is left; then drop the firm's schema and its public rows (domain,
    memberships, key metadata, billing, checkpoints), in one transaction. The record keeps
    what the certificate needs. Objects still listed (or a store that does not answer)
    raise before the schema is touched; the next sweep tries again."""
    now = now or timezone.now()
    if not drop_due(record, now):
        return record
    # Before the transaction: the key is already destroyed, so the objects are unreadable
    # noise whether or not the drop then commits, and a DROPPED record always means that
    # nothing of the firm is left in the store.
    removed = _delete_firm_objects(record)
    with schema_context(get_public_schema_name()), transaction.atomic():
        record = OffboardingRecord.objects.select_for_update().get(pk=record.pk)
        if not drop_due(record, now):
            return record
        firm = record.firm
        if firm is not None:
            _operator_log(firm, f"system:{SYSTEM}", "offboarding_schema_drop",
                          schema=firm.schema_name, objects_prefix=objects_prefix(record),
                          objects_removed=removed, objects_remaining=0)  # fmt: skip
            with connection.cursor() as cursor:
                # Deferred foreign-key checks still pending in this transaction (rows written
                # earlier in it) would block the DROP: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(firm.schema_name)
                    )
                )
            _delete_public_rows(firm)
        record.refresh_from_db()
        record.stage = OffboardingRecord.Stage.DROPPED
        record.schema_dropped_at = now
        record.save()
    return record


class ObjectsRemain(Exception):
    """Versions of the firm's objects are still listed after their deletion."""


def _delete_firm_objects(record: OffboardingRecord) -> int:
    """Every version and delete marker under the firm's folder (documents, the archive),
    and a listing that proves none is left. Returns how many versions went."""
    from objectstore import object_store

    store = object_store()
    prefix = objects_prefix(record)
    removed = store.delete_prefix(prefix)
    left = store.versions(prefix)
    if left:
        # Counts only: keys name documents, and a log line is no place for them.
        raise ObjectsRemain(f"{len(left)} object versions remain under {prefix}")
    return removed


def _delete_public_rows(firm: Firm) -> None:
    from audit.models import AuditCheckpoint
    from billing.models import FirmBilling
    from keys.models import DataKey, RetiredKek

    AuditCheckpoint.objects.filter(firm=firm).delete()
    DataKey.objects.filter(firm=firm).delete()
    RetiredKek.objects.filter(firm=firm).delete()
    FirmKey.objects.filter(firm=firm).delete()
    FirmBilling.objects.filter(firm=firm).delete()
    # Domain, memberships, invitations, tokens, grants, practice links cascade; the record's
    # firm is set null.
    firm.delete()


# --- the sweep -----------------------------------------------------------------------------


@dataclass
class SweepResult:
    exported: list[str] = field(default_factory=list)
    billing_stopped: list[str] = field(default_factory=list)
    shredded: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"exported {len(self.exported)}, billing stopped {len(self.billing_stopped)}, "
            f"keys destroyed {len(self.shredded)}, schemas dropped {len(self.dropped)}, "
            f"failed {len(self.failed)}"
        )


def pending_records() -> Iterator[OffboardingRecord]:
    yield from OffboardingRecord.objects.exclude(stage=OffboardingRecord.Stage.DROPPED).order_by(
        "requested_at"
    )


def offboarding_sweep(*, now: datetime | None = None) -> SweepResult:
    """Every step that is due, for every firm being offboarded. `now` moves the clock (tests,
    and the command's --now); beat passes nothing."""
    now = now or timezone.now()
    result = SweepResult()
    with schema_context(get_public_schema_name()):
        for record in pending_records():
            try:
                _sweep_one(record, now, result)
            except Exception:
                logger.exception("OFFBOARDING_STEP_FAILED firm=%s", record.firm_slug)
                result.failed.append(record.firm_slug)
    return result


def _sweep_one(record: OffboardingRecord, now: datetime, result: SweepResult) -> None:
    slug = record.firm_slug
    if record.billing_stopped_at is None and record.firm is not None:
        offboarding_stop_billing(record)
        result.billing_stopped.append(slug)
    if record.stage == OffboardingRecord.Stage.REQUESTED:
        record = offboarding_export(record, now=now)
        if record.stage == OffboardingRecord.Stage.EXPORTED:
            result.exported.append(slug)
    if shred_due(record, now):
        record = offboarding_shred(record, now=now)
        result.shredded.append(slug)
    if drop_due(record, now):
        offboarding_drop(record, now=now)
        result.dropped.append(slug)


# --- 5. the offboarding certificate ----------------------------------------------------------


def _jst(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def _key_text(record: OffboardingRecord) -> str:
    if not record.key_destroyed_at:
        return ""
    if record.key_byok:
        return "お客様の鍵（BYOK）: 当社が保管するラップ済みデータ鍵を消去"
    if record.key_provider == "aws":
        return f"AWS KMS: ScheduleKeyDeletion（削除予定 {_jst(record.key_deletion_date)}）"
    return "ローカル鍵: 鍵暗号化鍵を消去"


def certificate_rows(record: OffboardingRecord) -> list[tuple[str, str]]:
    """(item, value) pairs: the certificate's content, for the CSV and the PDF alike."""
    return [
        ("firm_name", record.firm_name),
        ("firm_slug", record.firm_slug),
        ("schema", record.schema_name),
        ("offboarding_id", str(record.pk)),
        ("requested_by", record.requested_by_email),
        ("requested_at_jst", _jst(record.requested_at)),
        ("include_numbers", "yes" if record.include_numbers else "no"),
        ("export_ready_at_jst", _jst(record.export_ready_at)),
        ("export_sha256", record.archive_sha256),
        ("export_people", str(record.people_count)),
        ("export_numbers", str(record.numbers_exported)),
        ("export_deletion_records", str(record.deletion_records_count)),
        ("export_log_entries", str(record.log_entries)),
        ("archive_downloaded_at_jst", _jst(record.archive_downloaded_at)),
        ("key_provider", record.key_provider),
        ("key_id", _key_label_of(record)),
        ("key_byok", "yes" if record.key_byok else "no"),
        ("key_destroyed_at_jst", _jst(record.key_destroyed_at)),
        ("key_deletion_date_jst", _jst(record.key_deletion_date)),
        ("schema_dropped_at_jst", _jst(record.schema_dropped_at)),
        # The drop happens only once a listing of every version under the firm's folder came
        # back empty (offboarding_drop), so a dropped firm has none.
        ("stored_objects_remaining", "0" if _dropped(record) else ""),
        ("billing_stopped_at_jst", _jst(record.billing_stopped_at)),
        ("billing_result", record.billing_result),
        ("stage", record.stage),
    ]


def _dropped(record: OffboardingRecord) -> bool:
    return record.stage == OffboardingRecord.Stage.DROPPED


def _key_label_of(record: OffboardingRecord) -> str:
    return key_label(record.key_id, byok=record.key_byok)


def certificate_csv(record: OffboardingRecord) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("item", "value"))
    writer.writerows(certificate_rows(record))
    return buffer.getvalue().encode("utf-8")


def certificate_pdf(record: OffboardingRecord) -> bytes:
    """The offboarding certificate (解約・データ消去証明書), with reportlab's built-in CID font as
    tenants.retention.certificate does."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    style = pdf.styles(body=9.5, cell=8.5)
    done = record.stage == OffboardingRecord.Stage.DROPPED
    status = (
        "下記の事業者のデータは、最終エクスポートの提供後、暗号鍵の破棄（暗号学的消去）と"
        "データベースからの削除により、当サービスから消去されました。消去したデータは復元できません。"
        if done
        else "解約の手続きは進行中です。未了の項目は空欄です（発行時点の状況）。"
    )
    labels = [
        ("事業者", record.firm_name),
        ("サブドメイン", record.firm_slug),
        ("解約の申請", f"{_jst(record.requested_at)}（{record.requested_by_email}、多要素認証で確認）"),
        ("最終エクスポート",
         f"{_jst(record.export_ready_at)}　登録者 {record.people_count}名、個人番号 "
         f"{record.numbers_exported}件{'（オーナーの指示により含む）' if record.include_numbers else '（含まない）'}、"
         f"削除記録 {record.deletion_records_count}件、アクセス記録 {record.log_entries}件"),
        ("エクスポートのSHA-256", record.archive_sha256),
        ("暗号鍵の破棄", _jst(record.key_destroyed_at)),
        ("鍵の種類・ID", f"{record.key_provider} {_key_label_of(record)}".strip()),
        ("破棄の方法", _key_text(record)),
        ("データベース（スキーマ）の削除", _jst(record.schema_dropped_at)),
        ("保存ファイルの削除",
         "本人確認書類・最終エクスポートの全バージョンを削除し、残存0件を確認"
         if _dropped(record) else ""),
        ("ご契約の停止", f"{_jst(record.billing_stopped_at)} {record.billing_result}".strip()),
    ]  # fmt: skip
    rows = [[pdf.para(label, style.cell), pdf.para(value or "—", style.cell)]
            for label, value in labels]  # fmt: skip
    table = pdf.grid(rows, (45, 135), labels="column")
    story: list = [
        pdf.para("解約・データ消去証明書", style.title),
        Spacer(1, 5 * mm),
        pdf.para(status, style.body),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 4 * mm),
        pdf.para(
            f"発行日時: {_jst(timezone.now())}（日本時間）　本証明書には個人番号を記載していません。",
            style.body,
        ),
    ]
    return pdf.build(story, title="解約・データ消去証明書", margin_mm=15,
                     subject=f"offboarding certificate {record.firm_slug} {record.pk}: {record.stage}")  # fmt: skip


def certificates_for(user: User) -> list[OffboardingRecord]:
    """The offboarding records whose certificate the user may download: they asked, or were
    an owner of the firm when it was asked."""
    return list(
        OffboardingRecord.objects.filter(
            Q(requested_by=user) | Q(owner_user_ids__contains=[user.pk])
        )
    )
