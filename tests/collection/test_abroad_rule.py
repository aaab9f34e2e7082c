"""The rule for dependants abroad (tenants.collection.abroad): age at December 31 as the law
counts it, and the documents each age band needs. No database."""

from __future__ import annotations

from datetime import date

import pytest

from tenants.collection.abroad import (
    SOURCE,
    AbroadDocument,
    Band,
    Condition,
    age_at_year_end,
    requirement,
)

BOTH = (AbroadDocument.RELATIONSHIP, AbroadDocument.REMITTANCE)


@pytest.mark.parametrize(
    ("birth", "year", "age"),
    [
        (date(1994, 1, 2), 2023, 29),  # the NTA's 令和5年分 band starts at 1994-01-01
        (date(1994, 1, 1), 2023, 30),  # born on January 1: a year older on December 31
        (date(1993, 12, 31), 2023, 30),
        (date(1954, 1, 2), 2023, 69),  # ... and ends at 1954-01-02
        (date(1954, 1, 1), 2023, 70),
        (date(2008, 1, 1), 2023, 16),  # 16歳以上: born on or before 2008-01-01
        (date(2008, 1, 2), 2023, 15),
        (date(2000, 2, 29), 2024, 24),
    ],
)
def test_age_at_december_31_counts_as_the_law_does(birth, year, age):
    assert age_at_year_end(birth, year) == age


@pytest.mark.parametrize(
    ("birth", "band"),
    [
        (date(1996, 12, 31), Band.FROM_16_TO_29),
        (date(1996, 1, 2), Band.FROM_16_TO_29),  # 29 on 2025-12-31
        (date(1996, 1, 1), Band.FROM_30_TO_69),  # 30
        (date(1995, 12, 31), Band.FROM_30_TO_69),
        (date(1956, 1, 2), Band.FROM_30_TO_69),  # 69
        (date(1956, 1, 1), Band.FROM_70),  # 70
        (date(1940, 6, 1), Band.FROM_70),
    ],
)
def test_the_bands_at_29_30_and_69_70(birth, band):
    needs = requirement(birth, 2025)
    assert needs.band is band
    assert needs.required == BOTH
    if band is Band.FROM_30_TO_69:
        assert needs.one_of == (Condition.STUDENT, Condition.DISABLED, Condition.REMITTANCE_380K)
    else:
        assert needs.one_of == ()
    assert not needs.ask_handler
    assert "令和5年分以後" in needs.rule and needs.source == SOURCE


def test_under_16_needs_both_documents_and_no_exception():
    needs = requirement(date(2012, 5, 5), 2025)
    assert (needs.age, needs.band) == (13, Band.UNDER_16)
    assert needs.required == BOTH and needs.one_of == ()


def test_no_birth_date_asks_the_handler_and_asks_the_documents_every_age_needs():
    needs = requirement(None, 2025)
    assert needs.age is None and needs.band is Band.UNKNOWN and needs.ask_handler
    assert needs.required == BOTH and needs.one_of == ()


def test_each_exception_says_what_it_adds():
    needs = requirement(date(1980, 3, 3), 2025)
    assert needs.documents() == BOTH
    assert needs.documents("student") == (*BOTH, AbroadDocument.STUDENT)
    assert needs.documents("disabled") == BOTH  # stated in the declaration, no document
    assert needs.documents("remittance_380k") == BOTH  # the remittance documents show it


def test_before_2023_there_was_no_age_condition():
    needs = requirement(date(1980, 3, 3), 2022)
    assert needs.band is Band.FROM_30_TO_69 and needs.one_of == ()
    assert needs.required == BOTH and "令和4年分以前" in needs.rule
