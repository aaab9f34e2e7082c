"""The deletion records' append-only triggers call the single public copy of their function
(audit 0006, D44), and the firm's own copy is dropped, as auditlog 0007 does for the log."""

import importlib

from django.db import migrations

_APPEND_ONLY = importlib.import_module("tenants.retention.migrations.0003_records_append_only")
_SHARED = importlib.import_module("audit.migrations.0006_firm_trigger_functions")
FUNCTIONS = ("retention_refuse_change",)


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


DROP_OWN = """
DO $$ BEGIN
    EXECUTE format('DROP FUNCTION %I.retention_refuse_change()', current_schema());
END $$;
"""

FORWARD = _triggers(_APPEND_ONLY.FORWARD, "public.") + DROP_OWN
BACKWARD = _SHARED.public_functions(_APPEND_ONLY.FORWARD).replace("public.", "") + _triggers(
    _APPEND_ONLY.FORWARD, ""
)


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0005_abroad_documents_rule"),
        ("audit", "0006_firm_trigger_functions"),
    ]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
