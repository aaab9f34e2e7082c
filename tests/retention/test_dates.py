"""Due dates per rule, counted as the Civil Code counts periods."""

from __future__ import annotations

from datetime import date

import pytest
from django_tenants.utils import tenant_context

from tenants.retention import dates
from tenants.retention.models import Anchor, PersonRetention, RetentionRule
from tenants.retention.schedule import RuleBook, due_for

from .conftest import person_with_number

JAN10, JAN31, MONTH_END = (
    Anchor.JAN10_AFTER_END_YEAR,
    Anchor.JAN31_AFTER_END_YEAR,
    Anchor.MONTH_END_AFTER_END,
)


@pytest.mark.parametrize(
    ("ended", "due"),
    [
        # Last declaration due in the year of leaving; kept 7 years from the day after
        # January 10 of the next year, so through January 10 eight years on.
        (date(2025, 3, 31), date(2033, 1, 11)),
        (date(2025, 1, 1), date(2033, 1, 11)),
        (date(2025, 12, 31), date(2033, 1, 11)),
        (date(2024, 12, 31), date(2032, 1, 11)),  # one day earlier, one year earlier
        (date(2024, 2, 29), date(2032, 1, 11)),  # a leap day end changes nothing
    ],
)
def test_dependent_declaration_january_10_rule(ended, due):
    assert dates.due_on(JAN10, 7 * 12, ended) == due


def test_the_last_day_kept_is_january_10():
    due = dates.due_on(JAN10, 84, date(2025, 6, 30))
    assert dates.period_end(date(2026, 1, 11), 84) == date(2033, 1, 10)
    assert due == date(2033, 1, 11)


@pytest.mark.parametrize(
    ("ended", "months", "due"),
    [
        (date(2026, 3, 31), 24, date(2028, 5, 1)),  # month end after: 2026-04-30
        (date(2026, 12, 15), 24, date(2029, 2, 1)),  # December: anchor in January next year
        (date(2028, 1, 15), 24, date(2030, 3, 1)),  # anchor 2028-02-29 (leap)
        (date(2027, 1, 20), 12, date(2028, 3, 1)),  # anchor 2027-02-28; ends 2028-02-29
        (date(2026, 3, 31), 48, date(2030, 5, 1)),  # employment insurance, 4 years
    ],
)
def test_social_insurance_from_the_month_end_after_leaving(ended, months, due):
    assert dates.due_on(MONTH_END, months, ended) == due


def test_filing_rules_without_a_period_end_after_the_last_deadline():
    assert dates.due_on(JAN31, 0, date(2026, 5, 31)) == date(2027, 2, 1)
    assert dates.due_on(JAN31, 84, date(2026, 5, 31)) == date(2034, 2, 1)


def test_a_period_without_a_corresponding_day_ends_with_the_month():
    # Civil Code 143(2): from January 31, one month ends on the last day of February.
    assert dates.period_end(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert dates.period_end(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert dates.period_end(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert dates.period_end(date(2027, 3, 1), 12) == date(2028, 2, 29)


@pytest.mark.django_db
def test_seeded_rules_carry_their_legal_minimum(acme):
    with tenant_context(acme):
        rules = {r.code: r for r in RetentionRule.objects.all()}
    assert rules["dependent_declaration"].legal_years == 7
    assert rules["dependent_declaration"].anchor == JAN10
    assert rules["health_pension"].legal_years == 2
    assert rules["employment_insurance"].legal_years == 4
    assert rules["fee_payment_record"].max_extra_months == 84  # at most 7 years
    assert all(r.extra_months == 0 for r in rules.values())


@pytest.mark.django_db
def test_the_longest_applicable_rule_decides(acme):
    """An employee's default purposes include the dependent declaration (7 years)."""
    person = person_with_number(acme, 1, ended=date(2026, 3, 31))
    only_health = person_with_number(acme, 2, ended=date(2026, 3, 31), purposes=["health_pension"])
    with tenant_context(acme):
        due = due_for(person)
        assert due.due_on == date(2034, 1, 11) and due.rule.code == "dependent_declaration"
        assert "health_pension" in due.rule_codes
        assert due_for(only_health).due_on == date(2028, 5, 1)
        stored = PersonRetention.objects.get(person=person)
        assert stored.due_on == date(2034, 1, 11)


@pytest.mark.django_db
def test_a_dependent_ends_with_its_removal_or_its_employee(acme):
    employee = person_with_number(acme, 1)
    child = person_with_number(acme, 2, kind="dependent", employee=employee)
    removed = person_with_number(acme, 3, kind="dependent", employee=employee,
                                 ended=date(2024, 8, 1))  # fmt: skip
    with tenant_context(acme):
        book = RuleBook()
        assert due_for(child, book).due_on is None
        assert due_for(removed, book).due_on == date(2032, 1, 11)
    from tenants.custody import services as custody

    from .conftest import SEEDER

    with tenant_context(acme):
        custody.person_update(actor=SEEDER, person=employee,
                              changes={"relationship_end": date(2026, 9, 30)})  # fmt: skip
        # The employee's departure recomputes the dependents' stored dates too.
        assert PersonRetention.objects.get(person=child).due_on == date(2034, 1, 11)
        assert PersonRetention.objects.get(person=removed).due_on == date(2032, 1, 11)
