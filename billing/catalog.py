"""The Stripe catalog made from billing.plans, idempotently: run it twice and nothing new is
created. Products have ids we choose; prices are found by lookup key (a price's amount
cannot change in Stripe, so a new amount is a new price that takes the lookup key over and
the old one is archived); the tax rate is found by its metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import stripe

from .models import FirmBilling
from .plans import CONSUMPTION_TAX_PERCENT, CURRENCY, PAID_PLANS, Plan

TAX_RATE_KEY = "jp_consumption_tax_10"


@dataclass
class CatalogReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _product(api: stripe.StripeClient, plan: Plan, report: CatalogReport) -> None:
    wanted: Any = {
        "name": f"{plan.name} ({plan.code})",
        "metadata": {"app_plan": plan.code},
        "active": True,
    }
    try:
        product = api.v1.products.retrieve(plan.product_id)
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise
        params: Any = {"id": plan.product_id, **wanted}
        api.v1.products.create(params)
        report.created.append(f"product {plan.product_id}")
        return
    current = product.to_dict()
    if (
        current.get("name") != wanted["name"]
        or (current.get("metadata") or {}).get("app_plan") != plan.code
        or not current.get("active")
    ):
        api.v1.products.update(plan.product_id, wanted)
        report.updated.append(f"product {plan.product_id}")
    else:
        report.unchanged.append(f"product {plan.product_id}")


def _price(api: stripe.StripeClient, plan: Plan, report: CatalogReport) -> None:
    found = api.v1.prices.list({"lookup_keys": [plan.lookup_key], "limit": 1}).data
    current = found[0].to_dict() if found else None
    if current and (
        current.get("unit_amount") == plan.unit_amount
        and current.get("currency") == CURRENCY
        and (current.get("recurring") or {}).get("interval") == "month"
        and _id(current.get("product")) == plan.product_id
        and current.get("active")
    ):
        report.unchanged.append(f"price {plan.lookup_key}")
        return
    api.v1.prices.create(
        {
            "product": plan.product_id,
            "currency": CURRENCY,
            "unit_amount": plan.unit_amount,
            "recurring": {"interval": "month"},
            # Prices are shown tax excluded on Stripe; the 10% tax rate is added as a line.
            "tax_behavior": "exclusive",
            "lookup_key": plan.lookup_key,
            "transfer_lookup_key": True,
            "metadata": {"app_plan": plan.code},
        }
    )
    if current:
        api.v1.prices.update(str(current["id"]), {"active": False})
        report.updated.append(f"price {plan.lookup_key}")
    else:
        report.created.append(f"price {plan.lookup_key}")


def _id(value) -> str:
    return str(value.get("id")) if isinstance(value, dict) else str(value or "")


def find_tax_rate(api: stripe.StripeClient):
    for rate in api.v1.tax_rates.list({"active": True, "limit": 100}).auto_paging_iter():
        if (rate.to_dict().get("metadata") or {}).get("app_key") == TAX_RATE_KEY:
            return rate
    return None


def _tax_rate(api: stripe.StripeClient, report: CatalogReport) -> None:
    if find_tax_rate(api) is not None:
        report.unchanged.append("tax rate")
        return
    api.v1.tax_rates.create(
        {
            "display_name": "消費税",
            "description": "消費税 10%",
            "jurisdiction": "JP",
            "country": "JP",
            "percentage": CONSUMPTION_TAX_PERCENT,
            "inclusive": False,
            "tax_type": "jct",
            "metadata": {"app_key": TAX_RATE_KEY},
        }
    )
    report.created.append("tax rate")


def sync_catalog(api: stripe.StripeClient, *, customers: bool = True) -> CatalogReport:
    """Products and prices of the paid plans, the consumption tax rate, and (with
    `customers`) the registration number on every known customer's invoices."""
    report = CatalogReport()
    for plan in PAID_PLANS:
        _product(api, plan, report)
        _price(api, plan, report)
    _tax_rate(api, report)
    if customers:
        from .services import invoice_settings

        for customer in FirmBilling.objects.exclude(stripe_customer_id="").values_list(
            "stripe_customer_id", flat=True
        ):
            api.v1.customers.update(customer, {"invoice_settings": invoice_settings()})
            report.updated.append(f"customer {customer}")
    return report
