"""Billing pages on a firm's host, under /billing/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="billing"),
    path("checkout/", views.checkout, name="billing_checkout"),
    path("portal/", views.portal, name="billing_portal"),
    path("return/", views.checkout_return, name="billing_return"),
]
