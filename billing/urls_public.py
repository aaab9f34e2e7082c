"""Billing on the bare domain: Stripe's webhook."""

from django.urls import path

from . import views

urlpatterns = [
    path("webhook/", views.webhook, name="billing_webhook"),
]
