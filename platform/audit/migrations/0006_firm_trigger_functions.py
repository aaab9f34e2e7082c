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


FORWARD = public_functions(_AUDITLOG.FORWARD) + public_functions(_RETENTION.FORWARD)
BACKWARD = "\n".join(f"DROP FUNCTION public.{name}();" for name in FUNCTIONS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_chain_verification")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
