from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "tenants.workspace"
    label = "workspace"
    verbose_name = "Firm workspace"
