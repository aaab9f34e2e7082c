from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "tenants.retention"
    label = "retention"
    verbose_name = "Retention and deletion"
