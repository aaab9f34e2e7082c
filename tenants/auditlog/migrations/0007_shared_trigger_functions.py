"""Every firm's append-only triggers call the single public copy of their functions (audit
0006, D44), and the firm's own copies are dropped: a copy per firm made PostgreSQL resolve the
trigger's function through 20,000 candidates at every provisioning. The triggers keep their
names, events and behaviour; only the function they call moves."""

import importlib

from django.db import migrations

_APPEND_ONLY = importlib.import_module("tenants.auditlog.migrations.0003_append_only")
_SHARED = importlib.import_module("audit.migrations.0006_firm_trigger_functions")

FORWARD, BACKWARD = _SHARED.repoint_firm_triggers(
    _APPEND_ONLY.FORWARD, ("auditlog_refuse_change", "auditlog_head_forward_only")
)


class Migration(migrations.Migration):
    dependencies = [
        ("auditlog", "0006_hashes_hex_check"),
        ("audit", "0006_firm_trigger_functions"),
    ]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
