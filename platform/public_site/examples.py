"""The worked examples the public pages show, computed from the plans (billing.plans), so a
price changed in code changes every figure on the site; the templates only lay them out."""

from __future__ import annotations

from billing.plans import ACCOUNTANT, FREE, PLANS, STANDARD, MonthlyBill, monthly_bill

# A small firm that keeps the numbers of its twenty employees (issue 20 asks for this firm).
SMALL_FIRM_PEOPLE = 20
# An accounting office serving thirty client firms.
PRACTICE_CLIENTS = 30


def small_firm() -> MonthlyBill:
    return monthly_bill(PLANS[STANDARD], SMALL_FIRM_PEOPLE)


def practice() -> MonthlyBill:
    return monthly_bill(PLANS[ACCOUNTANT], PRACTICE_CLIENTS)


def free_people() -> int | None:
    return PLANS[FREE].max_people
