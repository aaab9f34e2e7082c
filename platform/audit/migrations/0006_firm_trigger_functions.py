"""One copy, in the public schema, of the functions behind every firm's append-only triggers.

Each firm schema used to hold its own copies (auditlog 0003, retention 0003). PostgreSQL
resolves `EXECUTE FUNCTION schema.fn()` through the list of every function of that name in
every schema, so with 20,510 firms each of the template's trigger statements took 25-34 ms
instead of 0.2 ms and made provisioning grow with the number of firms (docs/benchmarks.md,
D44). The bodies hold no schema name (the head trigger finds the log through
TG_TABLE_SCHEMA), so one copy serves every firm. auditlog 0007 and retention 0006 point each
firm's triggers here and drop the firm's copies.
"""

import importlib

from django.db import migrations

_AUDITLOG = importlib.import_module("tenants.auditlog.migrations.0003_append_only")
_RETENTION = importlib.import_module("tenants.retention.migrations.0003_records_append_only")

FUNCTIONS = ("auditlog_refuse_change", "auditlog_head_forward_only", "retention_refuse_change")


def public_functions(definitions: str) -> str:
    """The CREATE FUNCTION statements of a firm migration's SQL, as public.<name>; its
    triggers left out."""
    kept, inside = [], False
    for line in definitions.splitlines():
        if line.startswith("CREATE FUNCTION"):
            inside = True
        if inside:
            kept.append(line)
        if inside and line == "$$;":
            inside = False
            kept.append("")
    text = "\n".join(kept)
    for name in FUNCTIONS:
        text = text.replace(f"CREATE FUNCTION {name}()", f"CREATE FUNCTION public.{name}()")
    return text


def _triggers(definitions: str, target: str) -> str:
    """A firm migration's CREATE TRIGGER statements, as CREATE OR REPLACE calling the
    function in `target` ("public." or "" for the firm's own)."""
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


def repoint_firm_triggers(definitions: str, functions: tuple[str, ...]) -> tuple[str, str]:
    """(forward, backward) SQL for a firm whose migration `definitions` made `functions` and
    the triggers calling them. Forward: the triggers call the public copies and the firm's
    own (current_schema(), first on the migration's path) are dropped. Backward: the firm's
    copies again, and the triggers pointed back at them."""
    drops = "".join(
        f"    EXECUTE format('DROP FUNCTION %I.{name}()', current_schema());\n"
        for name in functions
    )
    forward = _triggers(definitions, "public.") + f"DO $$ BEGIN\n{drops}END $$;\n"
    backward = public_functions(definitions).replace("public.", "") + _triggers(definitions, "")
    return forward, backward


FORWARD = public_functions(_AUDITLOG.FORWARD) + public_functions(_RETENTION.FORWARD)
BACKWARD = "\n".join(f"DROP FUNCTION public.{name}();" for name in FUNCTIONS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_chain_verification")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
