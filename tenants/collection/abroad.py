"""Dependants who live abroad (国外居住親族): which documents the deduction needs, by the
dependant's age at December 31 of the tax year. A plain function, no database.

A dependant abroad has no My Number. For 扶養控除 and 配偶者控除 (and for 住民税's count of
dependants under 16) the employee gives the employer 親族関係書類 (proof of the family
relationship issued by a foreign government, e.g. a copy of a family register, a birth or
marriage certificate, or a passport copy together with one) and 送金関係書類 (proof of money
sent to that dependant during the year: bank remittance records, the statement of a family
card). From 令和5年分 (tax year 2023) a dependant aged 30 to 69 at December 31 counts only if
one of these holds: a student abroad (留学ビザ等書類), disabled (障害者), or sent at least
380,000 yen in the year (送金関係書類 showing it: 38万円以上送金書類).

Sources (read from memory of their text, not checked against the current year's official
text from this machine; docs/retention.md says the same): 国税庁「国外居住親族に係る扶養控除等の
見直しについて」(令和5年1月以降) and its FAQ; 所得税法2条1項34号の2 as amended by 令和2年度税制改正;
所得税法194条 and 所得税法施行規則 (the documents given with the 扶養控除等申告書 and at the
year-end adjustment).

Decisions (docs/retention.md, "Dependants abroad"):
- Age at December 31 counts as the law counts age (年齢計算ニ関スル法律): a year is reached at
  the end of the day before the birthday, so someone born on January 1 is already a year
  older on December 31. The NTA writes the 30-69 band of 令和5年分 as "born 昭和29年1月2日 to
  平成6年1月1日", which is what `age_at_year_end` gives.
- Under 16 (年少扶養親族): no income-tax deduction, but the 扶養控除等申告書's 住民税 section
  lists them and the 住民税 non-taxable threshold counts them, with the same documents. We ask
  for both 親族関係書類 and 送金関係書類 (the cautious reading: a firm keeps what it may need).
- No birth date: the age band is unknown. The two documents every age needs are asked, and
  the handler is told to enter the birth date (`ask_handler`): whether an exception must be
  proved is not guessed.
- Before 令和5年分 (2022 and earlier) the 30-69 condition did not exist: the two documents for
  every age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

# Where the rule comes from (staff pages and docs show it with the rule's name).
SOURCE = "国税庁「国外居住親族に係る扶養控除等の見直しについて」（令和5年1月以降）及び同FAQ"
FIRST_YEAR_OF_THE_2023_RULE = 2023
# 親族関係書類 and 送金関係書類 are required from 平成28年分 (tax year 2016).
FIRST_YEAR_OF_DOCUMENTS = 2016
REMITTANCE_THRESHOLD_YEN = 380_000


class AbroadDocument(StrEnum):
    """The documents, as collection.DocumentKind values (the same strings)."""

    RELATIONSHIP = "abroad_relationship"  # 親族関係書類
    REMITTANCE = "abroad_remittance"  # 送金関係書類
    STUDENT = "abroad_student"  # 留学ビザ等書類


class Condition(StrEnum):
    """One of these makes a dependant aged 30-69 count (令和5年分以後)."""

    STUDENT = "student"  # 留学により国内に住所及び居所を有しなくなった者
    DISABLED = "disabled"  # 障害者
    REMITTANCE_380K = "remittance_380k"  # その年に38万円以上の送金を受けている者


CONDITION_LABELS = {
    Condition.STUDENT: _("留学（留学ビザ等書類）"),
    Condition.DISABLED: _("障害者"),
    Condition.REMITTANCE_380K: _("38万円以上の送金（送金関係書類）"),
}
# What each condition adds to the documents: a student's visa document; nothing for a
# disabled dependant (the employee states it in the declaration, and the handler checks it
# there); for 380,000 yen, the remittance documents (already asked) must show that much.
CONDITION_DOCUMENTS: dict[Condition, tuple[AbroadDocument, ...]] = {
    Condition.STUDENT: (AbroadDocument.STUDENT,),
    Condition.DISABLED: (),
    Condition.REMITTANCE_380K: (AbroadDocument.REMITTANCE,),
}


class Band(StrEnum):
    UNDER_16 = "under_16"
    FROM_16_TO_29 = "16_29"
    FROM_30_TO_69 = "30_69"
    FROM_70 = "70_plus"
    UNKNOWN = "unknown"  # no birth date


BAND_LABELS = {
    Band.UNDER_16: _("16歳未満（年少扶養親族）"),
    Band.FROM_16_TO_29: _("16歳以上30歳未満"),
    Band.FROM_30_TO_69: _("30歳以上70歳未満"),
    Band.FROM_70: _("70歳以上"),
    Band.UNKNOWN: _("生年月日が未登録"),
}

RULE_2023 = _("国外居住親族の扶養控除等（令和5年分以後）")
RULE_BEFORE_2023 = _("国外居住親族の扶養控除等（令和4年分以前）")
BOTH = (AbroadDocument.RELATIONSHIP, AbroadDocument.REMITTANCE)


@dataclass(frozen=True)
class Requirement:
    """What a dependant abroad must prove for one tax year."""

    tax_year: int
    age: int | None  # at December 31 of the tax year; None without a birth date
    band: Band
    required: tuple[AbroadDocument, ...]  # every one of these
    one_of: tuple[Condition, ...]  # and, when not empty, one of these
    ask_handler: bool  # the birth date is missing: the handler must look
    rule: str
    source: str = SOURCE

    def documents(self, condition: str | None = None) -> tuple[AbroadDocument, ...]:
        """Every document needed once the dependant's condition (for one_of) is known."""
        extra = CONDITION_DOCUMENTS.get(Condition(condition), ()) if condition else ()
        needed = list(self.required)
        needed += [document for document in extra if document not in needed]
        return tuple(needed)


def age_at_year_end(birth_date: date, year: int) -> int:
    """Age on December 31 of `year` as the law counts it: the age reached by the end of that
    day, i.e. the age on January 1 of the next year by the calendar's birthday."""
    after = date(year + 1, 1, 1)
    had_birthday = (after.month, after.day) >= (birth_date.month, birth_date.day)
    return after.year - birth_date.year - (0 if had_birthday else 1)


def band_of(age: int | None) -> Band:
    if age is None:
        return Band.UNKNOWN
    if age < 16:
        return Band.UNDER_16
    if age < 30:
        return Band.FROM_16_TO_29
    if age < 70:
        return Band.FROM_30_TO_69
    return Band.FROM_70


def requirement(birth_date: date | None, tax_year: int) -> Requirement:
    """The documents a dependant abroad born on `birth_date` needs for `tax_year`."""
    age = age_at_year_end(birth_date, tax_year) if birth_date is not None else None
    band = band_of(age)
    if tax_year < FIRST_YEAR_OF_THE_2023_RULE:
        return Requirement(tax_year, age, band, BOTH, (), age is None, str(RULE_BEFORE_2023))
    one_of = tuple(Condition) if band is Band.FROM_30_TO_69 else ()
    return Requirement(tax_year, age, band, BOTH, one_of, age is None, str(RULE_2023))
