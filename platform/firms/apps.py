from django.apps import AppConfig


class FirmsConfig(AppConfig):
    name = "firms"
    verbose_name = "Firms (tenants)"
