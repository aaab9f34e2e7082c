"""Every firm's append-only triggers call the single public copy of their functions (audit
0006, D44), and the firm's own copies are dropped: a copy per firm made PostgreSQL resolve the
trigger's function through 20,000 candidates at every provisioning. The triggers keep their
names, events and behaviour; only the function they call moves. Backwards: the firm's copies
again, and the triggers pointed back at them."""

import importlib

from django.db import migrations

_APPEND_ONLY = importlib.import_module("tenants.auditlog.migrations.0003_append_only")
_SHARED = importlib.import_module("audit.migrations.0006_firm_trigger_functions")
FUNCTIONS = ("auditlog_refuse_change", "auditlog_head_forward_only")


def _triggers(definitions: str, target: str) -> str:
    """The migration's CREATE TRIGGER statements, as CREATE OR REPLACE calling `target`."""
    statements = [
        part.strip().rstrip(";") for part in definitions.split(";") if "CREATE TRIGGER" in part
    ]
    text = ";\n".join(
        statement[statement.index("CREATE TRIGGER") :].replace(
            "CREATE TRIGGER", "CREATE OR REPLACE TRIGGER"
        )
        for statement in statements
    )
    for name in FUNCTIONS:
        text = text.replace(f"EXECUTE FUNCTION {name}()", f"EXECUTE FUNCTION {target}{name}()")
    return text + ";\n"


# current_schema(): the firm's (or the template's) schema, first on the migration's path.
DROP_OWN = """
DO $$ BEGIN
    EXECUTE format('DROP FUNCTION %I.auditlog_refuse_change()', current_schema());
    EXECUTE format('DROP FUNCTION %I.auditlog_head_forward_only()', current_schema());
END $$;
"""

FORWARD = _triggers(_APPEND_ONLY.FORWARD, "public.") + DROP_OWN
BACKWARD = _SHARED.public_functions(_APPEND_ONLY.FORWARD).replace("public.", "") + _triggers(
    _APPEND_ONLY.FORWARD, ""
)


class Migration(migrations.Migration):
    dependencies = [
        ("auditlog", "0006_hashes_hex_check"),
        ("audit", "0006_firm_trigger_functions"),
    ]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
