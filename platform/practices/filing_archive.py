"""One archive (ZIP) holding a 法定調書 file per client firm, uploaded once on the portfolio
(issue 17, docs/filings.md "Pages"). Each file goes to the client firm its filer column names
(the firm's 法人番号, as registered in that firm's settings, read in its schema) or, when the
file names none, to the firm whose subdomain its name starts with (`acme_375.csv`); it is then
received in that firm exactly as a file uploaded from the firm's row: its schema, its keys,
its log, as the user's membership there, and only where that role may prepare a filing.

Nothing of the archive is kept: it is read in memory (the request's bounded upload handler),
one file at a time, and what became of each file is returned for the page. A file that no
client firm could be told for is kept nowhere and logged nowhere (there is no firm to log it
in); one refused in a firm is logged there, as any refused upload.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy
from django_tenants.utils import tenant_context
from psycopg import sql

from accounts.models import Membership
from authz.actions import Action
from authz.decide import deny, permits
from config.scrub import scrub
from firms.models import Firm
from keys.errors import KeyUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.services import actor_from_request
from tenants.custody.errors import CustodyError
from tenants.custody.views import unavailable_message
from tenants.filings import labels, workflow
from tenants.filings.errors import FilingError
from tenants.filings.layouts import Slot
from tenants.filings.records import parse
from tenants.workspace.models import FirmSettings

from .models import PracticeClient

ARCHIVE_MAX_FILES = 200
NAME_MAX = 120  # characters of a file's name shown on the page
_UTF8_NAMES = 0x800  # the ZIP flag for names in UTF-8; else CP437, or CP932 from Windows
_SKIPPED_FOLDER = "__MACOSX/"  # macOS's resource forks
_SKIPPED_PREFIXES = (".", "~$")  # hidden files (macOS's ._ copies), Office's lock files


SEVERAL_FILERS = gettext_lazy(
    "提出義務者の法人番号が複数あります。1つのファイルには1事業者の分だけを入れてください。"
)
FILER_IS_NOT_THE_NAMED_FIRM = gettext_lazy(
    "提出義務者の法人番号が、ファイル名の事業者（%(firm)s）に登録された法人番号と違います。"
    "ファイルとファイル名を確かめてください。"
)
NO_CLIENT_FOR_THE_FILER = gettext_lazy(
    "提出義務者の法人番号に一致する担当事業者がありません。事業者の設定で法人番号を登録するか、"
    "ファイル名を事業者のサブドメインで始めてください（例: %(example)s）。"
)
NO_CLIENT = gettext_lazy(
    "どの担当事業者のファイルか分かりません。ファイル名を事業者のサブドメインで始めるか"
    "（例: %(example)s）、提出義務者の法人番号欄に法人番号を入れてください。"
)
NOT_PERMITTED = gettext_lazy(
    "この事業者の法定調書は準備できません（事業者が会計事務所に番号の表示・出力を許可していません）。"
)
LOCKED = gettext_lazy("パスワード付きのファイルは読み取れません。パスワードを外してください。")
UNREADABLE = gettext_lazy("ZIPファイルから取り出せませんでした。ZIPファイルを作り直してください。")
NOT_A_ZIP = gettext_lazy("ZIP形式のファイルを選んでください。")
EMPTY = gettext_lazy("ZIPファイルにCSVファイルが入っていません。")
TOO_MANY = gettext_lazy(
    "ZIPファイルに入れられるファイルは%(count)d件までです。分けてアップロードしてください。"
)
TOO_BIG = gettext_lazy(
    "ZIPファイルの中身が大きすぎます（展開後の合計 %(mib)s MB まで）。分けてアップロードしてください。"
)


class ArchiveRefused(Exception):
    """The archive as a whole cannot be read: said beside its form, nothing received."""

    def __init__(self, message: str, status: int = 400):
        self.message, self.status = message, status
        super().__init__(message)


@dataclass
class Outcome:
    """What became of one file of the archive: received in a firm (`filing`), or why not.
    `how` says how the firm was told: "corporate_number" or "name"."""

    name: str
    firm: Firm | None = None
    how: str = ""
    filing: Any = None  # tenants.filings.models.Filing, read in the firm's schema
    error: str = ""

    @property
    def form_name(self) -> str:
        return labels.form_name(self.filing.layout_code) if self.filing is not None else ""

    @property
    def pending(self) -> int:
        return self.filing.pending_count if self.filing is not None else 0

    @property
    def summary_path(self) -> str:
        """The filing's summary on the firm's host, through the hand-off."""
        if self.firm is None or self.filing is None:
            return ""
        return f"/go/{self.firm.slug}/?next=/filings/{self.filing.pk}/"


@dataclass(frozen=True)
class _Client:
    link: PracticeClient
    membership: Membership
    corporate_number: str

    @property
    def firm(self) -> Firm:
        return self.link.firm


def receive_archive(
    request: Any, *, seats: list[tuple[PracticeClient, Membership]], data: bytes
) -> list[Outcome]:
    """Every file of the archive given to its client firm and received there; ArchiveRefused
    when the archive itself cannot be read (not a ZIP, no file, too many, too big)."""
    members = _members(data)  # refuses a bad archive before anything is received
    clients = _clients(seats)
    return [_one(request, clients, name, content) for name, content in members]


# --- reading the archive --------------------------------------------------------------------


def _members(data: bytes) -> list[tuple[str, bytes | str]]:
    """(name, bytes) of each file, or (name, why it could not be taken out); in the archive's
    order. The archive's declared sizes are checked first, and each file is read with a limit
    too (a header may lie): what is taken out never exceeds what one upload may be."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = [info for info in archive.infolist() if not _skipped(info)]
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError):
        raise ArchiveRefused(str(NOT_A_ZIP)) from None
    if not infos:
        raise ArchiveRefused(str(EMPTY))
    if len(infos) > ARCHIVE_MAX_FILES:
        raise ArchiveRefused(str(TOO_MANY) % {"count": ARCHIVE_MAX_FILES})
    limit = settings.FILING_MAX_BYTES
    if sum(info.file_size for info in infos) > limit:
        raise _too_big(limit)
    return list(_read(archive, infos, limit))


def _too_big(limit: int) -> ArchiveRefused:
    return ArchiveRefused(str(TOO_BIG) % {"mib": f"{limit / 1024 / 1024:g}"}, status=413)


def _read(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limit: int) -> Iterator:
    taken = 0
    for info in infos:
        name = _name(info)
        if info.flag_bits & 0x1:
            yield name, str(LOCKED)
            continue
        try:
            with archive.open(info) as member:
                content = member.read(limit - taken + 1)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError):
            yield name, str(UNREADABLE)
            continue
        taken += len(content)
        if taken > limit:
            raise _too_big(limit)  # more than its header said
        yield name, content


def _skipped(info: zipfile.ZipInfo) -> bool:
    """Folders, and what the archivers add (macOS's __MACOSX/ and ._ files, Office's ~$)."""
    base = PurePosixPath(info.filename).name
    return (
        info.is_dir()
        or info.filename.startswith(_SKIPPED_FOLDER)
        or base.startswith(_SKIPPED_PREFIXES)
    )


def _name(info: zipfile.ZipInfo) -> str:
    """The file's name as its maker wrote it: Windows' archiver writes CP932 without the UTF-8
    flag, which Python reads as CP437. Shown on the page only, number-shaped runs masked."""
    name = info.filename
    if not info.flag_bits & _UTF8_NAMES:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("cp932")
    name = scrub(PurePosixPath(name).name or name)
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


# --- which firm -----------------------------------------------------------------------------


def _clients(seats: list[tuple[PracticeClient, Membership]]) -> list[_Client]:
    """The user's client firms with each firm's registered 法人番号, read in each firm's own
    schema (one UNION ALL query, as the portfolio's figures)."""
    if not seats:
        return []
    table = sql.Identifier(FirmSettings._meta.db_table)
    parts = [
        sql.SQL("SELECT {name}, coalesce(max(corporate_number), '') FROM {s}.{table}").format(
            name=sql.Literal(link.firm.schema_name),
            s=sql.Identifier(link.firm.schema_name),
            table=table,
        )
        for link, _membership in seats
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(" UNION ALL ").join(parts).as_string(cursor.cursor.connection))
        numbers = dict(cursor.fetchall())
    return [
        _Client(link, membership, numbers.get(link.firm.schema_name, ""))
        for link, membership in seats
    ]


def _filers(data: bytes) -> set[str] | None:
    """The 法人番号 the file's filer column holds (13 digits; a 12-digit 個人番号 there is a sole
    proprietor's and tells nothing here), or None when the file cannot be read: its firm is
    then told by its name, and receiving it there says why it is refused."""
    try:
        filing_file = parse(data)
    except FilingError:
        return None
    fields = [column.field for column in filing_file.layout.numbers if column.slot is Slot.FILER]
    found = {record.raw(field) for record in filing_file.records for field in fields}
    return {value.decode("ascii") for value in found if len(value) == 13 and value.isdigit()}


def _by_name(clients: list[_Client], name: str) -> _Client | None:
    """The client whose subdomain the file's name starts with, followed by nothing or by a
    character that is no letter or digit (`acme_375.csv`, `acme-2026.csv`, `acme.csv`); the
    longest such subdomain wins (`acme-west_375.csv` is acme-west's, not acme's)."""
    base = name.lower()
    for client in sorted(clients, key=lambda c: len(c.firm.slug), reverse=True):
        slug = client.firm.slug
        if base.startswith(slug) and (len(base) == len(slug) or not base[len(slug)].isalnum()):
            return client
    return None


def _assign(clients: list[_Client], name: str, data: bytes) -> tuple[_Client | None, str, str]:
    """(the client, how it was told, "") or (None, "", why no client could be)."""
    filers = _filers(data) or set()
    if len(filers) > 1:
        return None, "", str(SEVERAL_FILERS)
    if filers:
        found = next((c for c in clients if c.corporate_number in filers), None)
        if found is not None:
            return found, "corporate_number", ""
    named = _by_name(clients, name)
    if named is not None and filers and named.corporate_number:
        # The name says one firm, the file another 法人番号: neither is trusted over the other.
        return None, "", str(FILER_IS_NOT_THE_NAMED_FIRM) % {"firm": named.firm.name}
    if named is not None:
        return named, "name", ""
    why = NO_CLIENT_FOR_THE_FILER if filers else NO_CLIENT
    return None, "", str(why) % {"example": _example(clients)}


def _example(clients: list[_Client]) -> str:
    return f"{clients[0].firm.slug if clients else 'example'}_375.csv"


# --- receiving ------------------------------------------------------------------------------


def _one(request: Any, clients: list[_Client], name: str, content: bytes | str) -> Outcome:
    if isinstance(content, str):
        return Outcome(name, error=content)  # it could not be taken out of the archive
    client, how, why = _assign(clients, name, content)
    if client is None:
        return Outcome(name, error=why)
    outcome = Outcome(name, firm=client.firm, how=how)
    role = str(client.membership.role)
    with tenant_context(client.firm):
        actor = actor_from_request(request, role=role)
        if not permits(role, Action.FILING_PREPARE):
            # As for a file uploaded from the firm's row: refused, on the firm's record.
            deny(actor, Action.FILING_PREPARE,
                 detail={"path": request.path[:200], "method": request.method})  # fmt: skip
            outcome.error = str(NOT_PERMITTED)
            return outcome
        try:
            outcome.filing = workflow.receive(actor=actor, firm=client.firm, data=content)
        except CustodyError as refused:
            outcome.error = str(refused.message)  # logged in the firm by workflow.receive
        except (KeyUnavailable, AuditLogUnavailable) as error:
            outcome.error = unavailable_message(error)
    return outcome
