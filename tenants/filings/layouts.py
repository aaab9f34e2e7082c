"""The layouts a filing file may have: which field says what, and where the numbers go.

Field numbers are 1-based, as the layouts number them. Sources and what is verified:
docs/filings.md (../shared/reference/filing-formats.md [S1][S3][S10][S11]). A file is one of
these only if its field 1 and its field count both match; layouts change yearly, so any other
count is refused rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Slot(StrEnum):
    """Whose number a column holds."""

    FILER = "filer"  # 提出義務者の個人番号又は法人番号 (the firm's 法人番号)
    PERSON = "person"  # 支払を受ける者 (employee, retiree, payee)
    SPOUSE = "spouse"  # （源泉・特別）控除対象配偶者
    DEPENDANT = "dependant"  # 控除対象扶養親族 (1)–(4)
    UNDER16 = "under16"  # 16歳未満の扶養親族 (1)–(4) (統一CSV only)
    BROKER = "broker"  # あっせんをした者 (313)


@dataclass(frozen=True)
class NumberColumn:
    field: int
    slot: Slot
    index: int = 0  # the dependant's place, 1–4; 0 for the others
    # A 13-digit 法人番号 may stand here instead of a 12-digit 個人番号 (a company payee).
    corporate_allowed: bool = False


@dataclass(frozen=True)
class Layout:
    code: str  # field 1: 法定資料の種類 / 支払調書等の種類
    field_count: int
    name: str
    edition: str  # which year's layout this count is
    numbers: tuple[NumberColumn, ...]
    # Where the person is told apart: their name, its kana, birth date (元号, 年, 月, 日),
    # and the employer's own 受給者番号 where the layout has one.
    name_field: int = 14
    kana_field: int | None = None
    birth_fields: tuple[int, int, int, int] | None = None
    employee_code_field: int | None = None
    # The person's number and their dependants' go on one filing purpose (docs/filings.md).
    purpose: str = ""
    # 法定調書 CSV: the last field must hold at least one character, a half-width space when
    # it has nothing [S3].
    last_field_space_when_empty: bool = True
    encodings: tuple[str, ...] = ("cp932",)

    @property
    def number_fields(self) -> frozenset[int]:
        return frozenset(column.field for column in self.numbers)


def _dependants(first: int, slot: Slot) -> tuple[NumberColumn, ...]:
    return tuple(NumberColumn(first + 4 * i, slot, i + 1) for i in range(4))


_SALARY_NUMBERS = (
    NumberColumn(94, Slot.FILER, corporate_allowed=True),
    NumberColumn(95, Slot.PERSON),
    NumberColumn(99, Slot.SPOUSE),
    *_dependants(103, Slot.DEPENDANT),
)


# 給与所得の源泉徴収票 (375) [S1]. Fields 1–132 are the same in both editions; 令和7年分 adds
# the three 特定親族 items (133–135) at the end. The 132-field count of 令和6年分 is inferred
# from that (UNVERIFIED in the reference).
def _salary(field_count: int, edition: str) -> Layout:
    return Layout("375", field_count, "給与所得の源泉徴収票", edition, numbers=_SALARY_NUMBERS,
                  kana_field=132, birth_fields=(44, 45, 46, 47), purpose="withholding_slip")  # fmt: skip


SALARY_R7 = _salary(135, "令和7年分")
SALARY_R6 = _salary(132, "令和6年分")

# 報酬、料金、契約金及び賞金の支払調書 (309) [S1]: the payee's number is the last field.
FEES = Layout(
    "309",
    53,
    "報酬、料金、契約金及び賞金の支払調書",
    "令和7年分",
    numbers=(
        NumberColumn(52, Slot.FILER, corporate_allowed=True),
        NumberColumn(53, Slot.PERSON, corporate_allowed=True),
    ),
    purpose="fee_payment_record",
)

# 不動産の使用料等の支払調書 (313) [S1]: 42, あっせんをした者, is the last field.
RENTS = Layout(
    "313",
    42,
    "不動産の使用料等の支払調書",
    "令和7年分",
    numbers=(
        NumberColumn(40, Slot.FILER, corporate_allowed=True),
        NumberColumn(41, Slot.PERSON, corporate_allowed=True),
        NumberColumn(42, Slot.BROKER, corporate_allowed=True),
    ),
    purpose="real_estate_payment_record",
)

# 退職所得の源泉徴収票 (316) [S1]. The firm's seeded purposes have no separate one for
# retirement slips; the withholding-slip purpose is the nearest (its retention rule names both).
RETIREMENT = Layout(
    "316",
    41,
    "退職所得の源泉徴収票",
    "令和7年分",
    numbers=(
        NumberColumn(37, Slot.FILER, corporate_allowed=True),
        NumberColumn(38, Slot.PERSON),
    ),
    purpose="withholding_slip",
)


# 給与支払報告書・源泉徴収票 統一CSV (eLTAX, field 1 "315") [S10][S11]: fields 1–118 as in
# 375, then the 16歳未満 numbers; 138 is the employer's 受給者番号. 令和7年分 inserts three
# 特定親族 items before the last field, 作成区分 (147 fields, UNVERIFIED in the reference);
# the number columns do not move. 作成区分 is required, so no trailing-space rule. 132 and
# 133 (5人目以降, several numbers in one field, format UNVERIFIED) are not filled.
def _unified(field_count: int, edition: str) -> Layout:
    return Layout(
        "315",
        field_count,
        "給与支払報告書・源泉徴収票 統一CSV",
        edition,
        numbers=(*_SALARY_NUMBERS, *_dependants(119, Slot.UNDER16)),
        kana_field=137,
        birth_fields=(44, 45, 46, 47),
        employee_code_field=138,
        purpose="salary_payment_report",
        last_field_space_when_empty=False,
        encodings=("cp932", "utf-8"),
    )


UNIFIED_R6 = _unified(144, "令和6年分")
UNIFIED_R7 = _unified(147, "令和7年分")

LAYOUTS: tuple[Layout, ...] = (
    SALARY_R7,
    SALARY_R6,
    FEES,
    RENTS,
    RETIREMENT,
    UNIFIED_R6,
    UNIFIED_R7,
)


def layout_for(code: str, field_count: int) -> Layout | None:
    return next(
        (lay for lay in LAYOUTS if lay.code == code and lay.field_count == field_count), None
    )


def known_counts(code: str) -> list[int]:
    return sorted(lay.field_count for lay in LAYOUTS if lay.code == code)
