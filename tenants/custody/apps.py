from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "tenants.custody"
    label = "custody"
    verbose_name = "People and numbers"
