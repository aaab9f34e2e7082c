"""Billing (Stripe): plans, checkout and webhooks. Filled in by the billing issue."""
