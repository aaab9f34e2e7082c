"""A person's code (従業員・支払先コード): the firm's own employee or payee code, as its payroll or
contractor software writes it (社員番号・受給者番号・支払先コード). Filings match a file's row to a
person by it first, so every door that sets one (the person form, the API, the CSV import and
the services under them) checks it here, the same way:

- `normalize(raw)`: NFKC (full-width letters, digits, "－" and "＿" become half-width), the
  dashes an IME types for "-" become "-", spaces at either end are dropped. Letter case is
  kept. Never raises; filings compare a file's code after the same normalisation.
- `clean(raw, kind=...)`: the normalised code, or a ValidationError saying why (its `code`):
  `dependent` (dependents have no code), `number_shaped` (a run of 12 digits, alone or
  grouped 4-4-4, as the log's scrubber sees a number: it could be a My Number, which is never
  stored in plaintext; docs/decisions.md D33), `characters` (only A-Z, a-z, 0-9, "-" and
  "_"), `length` (20 at most). Blank stays blank. No database.
- `check(raw, kind=..., person_id=...)`: `clean`, then `duplicate` if another person of the
  same kind already has the code (one query). A code is unique within a kind only: an
  employee and a payee may share one (the database's `person_code_unique_per_kind`).
- `taken(pairs)`: which (kind, code) pairs are in use, in one query (the import's check).

Messages name the code typed (it has passed the number check by then) and, for a duplicate,
only that another employee or payee uses it: never who.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext_lazy as _

from tenants.auditlog.privacy import looks_like_my_number

from .models import Person, PersonKind

MAX_LENGTH = 20
CONSTRAINT = "person_code_unique_per_kind"
ALLOWED = re.compile(r"[A-Za-z0-9_-]+")
# What an IME writes when "-" is typed in Japanese mode, and the other dashes that look like
# it (NFKC already folds the full-width hyphen-minus "－").
DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))

LABEL = _("従業員・支払先コード")
HELP_TEXT = _(
    "給与ソフト・支払管理ソフトで使っているコード。法定調書・給与支払報告書の照合に使います。"
)
CHARACTERS = _(
    "従業員・支払先コードに使えるのは、半角の英字・数字と「-」「_」だけです"
    "（全角の英数字は半角にして登録します）。"
)
LENGTH = _("従業員・支払先コードは%(max)d文字以内にしてください（入力は%(count)d文字でした）。")
NUMBER_SHAPED = _(
    "12桁続く数字はマイナンバーと見分けがつかないため、従業員・支払先コードには使えません"
    "（マイナンバーを暗号化せずに保存しないためです）。給与ソフトの社員番号など、別のコードを"
    "入力してください。"
)
DEPENDENT = _(
    "扶養親族には従業員・支払先コードを付けられません。コードは空欄にしてください"
    "（コードは扶養する従業員の側に付けます）。"
)
TAKEN = {
    PersonKind.EMPLOYEE.value: _(
        "従業員・支払先コード「%(code)s」は既に別の従業員に使われています。"
        "同じコードは従業員の間で1回しか使えません。コードを確かめてください。"
    ),
    PersonKind.PAYEE.value: _(
        "従業員・支払先コード「%(code)s」は既に別の支払先に使われています。"
        "同じコードは支払先の間で1回しか使えません。コードを確かめてください。"
    ),
}


def normalize(raw: str | None) -> str:
    """What was typed, as it is stored and compared (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", str(raw or "")).translate(DASHES)
    return text.strip()


def clean(raw: str | None, *, kind: str | None) -> str:
    """The normalised code, or ValidationError (code: dependent, number_shaped, characters,
    length). Blank is allowed (no code)."""
    code = normalize(raw)
    if not code:
        return ""
    if kind == PersonKind.DEPENDENT:
        raise ValidationError(DEPENDENT, code="dependent")
    if looks_like_my_number(code):
        # First of the shape checks: "1234 5678 9012" is refused for what it is, not for its
        # spaces, and never stored or echoed.
        raise ValidationError(NUMBER_SHAPED, code="number_shaped")
    if not ALLOWED.fullmatch(code):
        raise ValidationError(CHARACTERS, code="characters")
    if len(code) > MAX_LENGTH:
        raise ValidationError(LENGTH, code="length", params={"max": MAX_LENGTH, "count": len(code)})
    return code


def duplicate(kind: str, code: str) -> ValidationError:
    """The refusal of a code another person of this kind already has."""
    message = TAKEN.get(kind, TAKEN[PersonKind.EMPLOYEE.value])
    return ValidationError(message, code="duplicate", params={"code": code})


def check(raw: str | None, *, kind: str | None, person_id: int | None = None) -> str:
    """`clean`, and not used by another person of the same kind (`person_id` is the person
    being edited, whose own code is no conflict)."""
    code = clean(raw, kind=kind)
    if code and kind:
        others = Person.objects.filter(kind=kind, code=code)
        if person_id is not None:
            others = others.exclude(pk=person_id)
        if others.exists():
            raise duplicate(kind, code)
    return code


def taken(pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (kind, code) pairs a person already has, in one query (an array
    parameter: an import's thousands of codes are one value, not one parameter each)."""
    wanted = {(kind, code) for kind, code in pairs if code}
    if not wanted:
        return set()
    table = Person._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, code FROM {table} WHERE code = ANY(%s)",  # noqa: S608
            [sorted({code for _kind, code in wanted})],
        )
        return {(kind, code) for kind, code in cursor.fetchall()} & wanted


def is_duplicate_violation(error: BaseException) -> bool:
    """Whether an IntegrityError is this constraint's (a race between `check` and the
    write): the caller answers it as `duplicate`, never as a 500."""
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == CONSTRAINT
