from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "tenants.compliance"
    label = "compliance"
    verbose_name = "Compliance paperwork (管理簿・基本方針・取扱規程・自己点検)"
