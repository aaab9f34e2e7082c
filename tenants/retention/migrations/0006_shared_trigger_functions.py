"""The deletion records' append-only triggers call the single public copy of their function
(audit 0006, D44), and the firm's own copy is dropped, as auditlog 0007 does for the log."""

import importlib

from django.db import migrations

_APPEND_ONLY = importlib.import_module("tenants.retention.migrations.0003_records_append_only")
_SHARED = importlib.import_module("audit.migrations.0006_firm_trigger_functions")

FORWARD, BACKWARD = _SHARED.repoint_firm_triggers(
    _APPEND_ONLY.FORWARD, ("retention_refuse_change",)
)


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0005_abroad_documents_rule"),
        ("audit", "0006_firm_trigger_functions"),
    ]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
