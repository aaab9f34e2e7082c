from django.apps import AppConfig


class FilingsConfig(AppConfig):
    name = "tenants.filings"
    label = "filings"
    verbose_name = "Filings (法定調書・給与支払報告書)"
