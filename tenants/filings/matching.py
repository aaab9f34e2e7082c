"""Which person a filing row is about: matching, never guessing.

A row names its person by 氏名 (and フリガナ, 生年月日 where the layout has them); the spouse and
dependants by name and kana among that employee's dependants. Names are compared after
normalising what differs between a payroll program and this product without being a different
name: character width (NFKC), spaces of either width, hiragana against katakana in the kana,
and the common 異体字 (髙/高, 﨑/崎, 邊・邉/辺 …). The result is one person, nobody, or several
(ambiguous); the last two go to the handler's review, never to a guess. Nothing here reads a
number.
"""

from __future__ import annotations

import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# Variant forms payroll data and registers disagree on, folded for comparison only (the file
# is never rewritten with them). NFKC does not fold these: some (﨑 U+FA11) are "unified"
# compatibility ideographs without a decomposition, the rest are ordinary kanji.
VARIANTS = str.maketrans(
    {
        "髙": "高", "﨑": "崎", "邊": "辺", "邉": "辺", "齋": "斉", "齊": "斉", "濵": "浜", "濱": "浜",
        "德": "徳", "冨": "富", "嶋": "島", "嶌": "島", "槗": "橋", "瀨": "瀬", "栁": "柳",
        "𠮷": "吉", "舘": "館", "籠": "篭", "龍": "竜", "澤": "沢", "櫻": "桜", "廣": "広",
        "國": "国", "實": "実", "眞": "真", "惠": "恵", "藏": "蔵", "壽": "寿", "條": "条",
    }
)  # fmt: skip
_SPACES = str.maketrans({" ": None, "\u3000": None, "\t": None})
_HIRAGANA = {chr(code): chr(code + 0x60) for code in range(0x3041, 0x3097)}
_KANA_MARKS = str.maketrans({**_HIRAGANA, "・": None, "･": None})
# Each pair above in one table, so a name is translated once: no table maps anything to what
# the other one changes, so one pass gives what the two in turn give.
_NAME_TABLE = {**_SPACES, **VARIANTS}
_KANA_TABLE = {**_SPACES, **_KANA_MARKS}

# 元号 codes of the 生年月日 fields (44–47). The reference names the fields but not the codes;
# these are the NTA 記録要領's usual 1 明治 … 5 令和 (UNVERIFIED, docs/filings.md). A code not
# listed gives no date, and the row is matched by name alone or reviewed.
ERA_FIRST_YEAR = {"1": 1868, "2": 1912, "3": 1926, "4": 1989, "5": 2019}


def normalize_name(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_NAME_TABLE)


def normalize_kana(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_KANA_TABLE)


def birth_date(era: str, year: str, month: str, day: str) -> date | None:
    first = ERA_FIRST_YEAR.get(era.strip())
    try:
        return date(first + int(year) - 1, int(month), int(day)) if first else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person of the firm as matching sees them (names normalised)."""

    person_id: int
    kind: str
    name: str
    kana: str
    birth: date | None
    employee_id: int | None = None
    code: str = ""  # the firm's employee/payee code (Person.code)

    @classmethod
    def of(cls, person) -> Candidate:
        return cls.of_fields(person.pk, person.kind, person.family_name, person.given_name,
                             person.family_name_kana, person.given_name_kana, person.birth_date,
                             person.employee_id, person.code)  # fmt: skip

    # Person's fields in the order of_fields takes them, for a values_list query: a roster of
    # tens of thousands of people needs no model instance each.
    FIELDS = ("id", "kind", "family_name", "given_name", "family_name_kana", "given_name_kana",
              "birth_date", "employee_id", "code")  # fmt: skip

    @classmethod
    def of_fields(cls, person_id: int, kind: str, family_name: str, given_name: str,
                  family_name_kana: str, given_name_kana: str, birth: date | None,
                  employee_id: int | None, code: str) -> Candidate:  # fmt: skip
        return cls(
            person_id=person_id,
            kind=sys.intern(kind),  # one string per kind, not one per person
            name=normalize_name(f"{family_name}{given_name}"),
            kana=normalize_kana(f"{family_name_kana}{given_name_kana}"),
            birth=birth,
            employee_id=employee_id,
            code=code,
        )


class Outcome(StrEnum):
    MATCHED = "matched"
    NOBODY = "nobody"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Match:
    outcome: Outcome
    person_id: int | None = None
    # Who it could be, when ambiguous: for the review step (names, never numbers).
    candidates: tuple[int, ...] = ()


def _decide(found: Sequence[Candidate]) -> Match:
    if len(found) == 1:
        return Match(Outcome.MATCHED, found[0].person_id)
    if not found:
        return Match(Outcome.NOBODY)
    return Match(Outcome.AMBIGUOUS, candidates=tuple(c.person_id for c in found))


def _narrow(found: list[Candidate], kana: str | None) -> list[Candidate]:
    if len(found) > 1 and kana:
        by_kana = [c for c in found if c.kana == normalize_kana(kana)]
        return by_kana or found
    return found


class Roster:
    """The firm's people indexed for matching: a 10,000-row file against 10,000 people is
    10,000 dictionary lookups, not 10⁸ comparisons."""

    def __init__(self, candidates: Iterable[Candidate]):
        self.by_id: dict[int, Candidate] = {}
        self._by_name: dict[str, list[Candidate]] = defaultdict(list)
        self._by_code: dict[tuple[str, str], Candidate] = {}
        self._dependants: dict[int, list[Candidate]] = defaultdict(list)
        for candidate in candidates:
            self.by_id[candidate.person_id] = candidate
            if candidate.employee_id is None:
                self._by_name[candidate.name].append(candidate)
                if candidate.code:
                    self._by_code[(candidate.kind, candidate.code)] = candidate
            else:
                self._dependants[candidate.employee_id].append(candidate)

    def person(self, *, kinds: Iterable[str], name: str, kana: str | None = None,
               birth: date | None = None, code: str = "") -> Match:  # fmt: skip
        """The row's person among employees or payees (`kinds`). The firm's own code, where
        the row carries one and a person has it, decides; otherwise the same name, and the
        same birth date where the row has one (a row's date that differs is a different
        person, not a typo to overlook); the kana tells apart people the rest cannot."""
        kinds = set(kinds)
        code = unicodedata.normalize("NFKC", code).strip()
        if code:
            for kind in sorted(kinds):
                if (kind, code) in self._by_code:
                    return Match(Outcome.MATCHED, self._by_code[(kind, code)].person_id)
        wanted = normalize_name(name)
        if not wanted:
            return Match(Outcome.NOBODY)
        found = [c for c in self._by_name.get(wanted, ()) if c.kind in kinds]
        if birth is not None:
            found = [c for c in found if c.birth == birth]
        return _decide(_narrow(found, kana))

    def dependant(self, *, employee_id: int, name: str, kana: str | None = None) -> Match:
        """A spouse or dependant among that employee's own dependants, by name (and kana)."""
        wanted = normalize_name(name)
        if not wanted:
            return Match(Outcome.NOBODY)
        found = [c for c in self._dependants.get(employee_id, ()) if c.name == wanted]
        return _decide(_narrow(found, kana))

    def dependants_of(self, employee_id: int) -> list[Candidate]:
        return list(self._dependants.get(employee_id, ()))

    def people_of(self, kinds: Iterable[str]) -> list[Candidate]:
        kinds = set(kinds)
        return [c for c in self.by_id.values() if c.employee_id is None and c.kind in kinds]


def match_person(candidates: Iterable[Candidate], *, kinds: Iterable[str], name: str,
                 kana: str | None = None, birth: date | None = None, code: str = "") -> Match:  # fmt: skip
    return Roster(candidates).person(kinds=kinds, name=name, kana=kana, birth=birth, code=code)


def match_dependant(candidates: Iterable[Candidate], *, employee_id: int, name: str,
                    kana: str | None = None) -> Match:  # fmt: skip
    return Roster(candidates).dependant(employee_id=employee_id, name=name, kana=kana)
