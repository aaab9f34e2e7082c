from django.apps import AppConfig


class AuditLogConfig(AppConfig):
    name = "tenants.auditlog"
    label = "auditlog"
    verbose_name = "Access log"
