"""The plans, as data. Prices are monthly, in JPY, before the 10% consumption tax; the
tax-included amount is what pages show first (Japanese price display rules, 総額表示).

`unit` says what the billed quantity counts: people holding a number (Standard) or the client
firms of an accounting practice (Accountant). Free has no Stripe price and a people limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CURRENCY = "jpy"
CONSUMPTION_TAX_PERCENT = 10

FREE = "free"
STANDARD = "standard"
ACCOUNTANT = "accountant"


@dataclass(frozen=True)
class Plan:
    code: str
    name: str | Promise
    description: str | Promise
    # Monthly price per unit in yen, tax excluded; 0 for Free.
    unit_amount: int
    # "person" (people holding a number), "client_firm", or "" (Free: nothing billed).
    unit: str
    # People a firm may register on this plan; None means no limit.
    max_people: int | None = None

    @property
    def paid(self) -> bool:
        return self.unit_amount > 0

    @property
    def unit_amount_with_tax(self) -> int:
        # Yen have no fraction; Stripe rounds the tax on an invoice the same way (half up).
        return self.unit_amount + tax_on(self.unit_amount)

    @property
    def lookup_key(self) -> str:
        """The Stripe price's lookup key; a new price takes the key over (billing.catalog)."""
        return f"{settings.STRIPE_CATALOG_PREFIX}{self.code}_monthly"

    @property
    def product_id(self) -> str:
        """Stripe lets us choose product ids: a fixed id makes creating it idempotent."""
        return f"{settings.STRIPE_CATALOG_PREFIX}{self.code}"


def tax_on(amount: int) -> int:
    return (amount * CONSUMPTION_TAX_PERCENT + 50) // 100


@dataclass(frozen=True)
class MonthlyBill:
    """One month of a plan for a quantity, as the invoice adds it up: the tax is taken on the
    line's total (as Stripe does), not per unit."""

    plan: Plan
    quantity: int
    subtotal: int  # tax excluded
    tax: int

    @property
    def total(self) -> int:
        return self.subtotal + self.tax

    @property
    def yearly_total(self) -> int:
        return self.total * 12


def monthly_bill(plan: Plan, quantity: int) -> MonthlyBill:
    subtotal = plan.unit_amount * quantity
    return MonthlyBill(plan=plan, quantity=quantity, subtotal=subtotal, tax=tax_on(subtotal))


PLANS: dict[str, Plan] = {
    FREE: Plan(
        code=FREE,
        name=_("フリー"),
        description=_("5名まで無料でお試しいただけます。"),
        unit_amount=0,
        unit="",
        max_people=5,
    ),
    STANDARD: Plan(
        code=STANDARD,
        name=_("スタンダード"),
        description=_("マイナンバーを保管している人数に応じた月額料金です。"),
        unit_amount=300,
        unit="person",
    ),
    ACCOUNTANT: Plan(
        code=ACCOUNTANT,
        name=_("会計事務所"),
        description=_("顧問先1社ごとの月額料金で、すべての顧問先をまとめてご請求します。"),
        unit_amount=2000,
        unit="client_firm",
    ),
}
PAID_PLANS = [plan for plan in PLANS.values() if plan.paid]


def get_plan(code: str) -> Plan:
    return PLANS.get(code) or PLANS[FREE]


def plan_for_lookup_key(lookup_key: str | None) -> Plan | None:
    return next((plan for plan in PAID_PLANS if plan.lookup_key == lookup_key), None)
