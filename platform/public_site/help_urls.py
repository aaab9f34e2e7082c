"""/help/ on the bare domain and on firm hosts (config.urls_public, config.urls_tenant)."""

from django.urls import path

from . import help_views

urlpatterns = [
    path("", help_views.help_index, name="help"),
    path("employees/", help_views.help_employees, name="help_employees"),
    path("owners/", help_views.help_owners, name="help_owners"),
    path("handlers/", help_views.help_handlers, name="help_handlers"),
]
