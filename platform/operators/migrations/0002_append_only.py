"""The operator log is append-only at the database level, as the firms' access logs are
(tenants/auditlog/migrations/0003_append_only.py): triggers refuse UPDATE and DELETE of
entries and DELETE of the chain head, and let the head only move forward to an entry that
exists with that hash. The head starts at seq 0 with the genesis hash.

One difference, on purpose: TRUNCATE is not refused here. These tables are in the public
schema, and Django's flush (the teardown of every test that commits) truncates every public
table in one statement; a refusing trigger would break it. TRUNCATE needs the table's owner
or the TRUNCATE privilege, as disabling a trigger does; the application role in production
has neither (docs/operators.md). A truncated log starts again from the genesis only when both
tables were emptied; exports held outside the database show what was there.
"""

from django.db import migrations

# operators.models.OPERATOR_GENESIS_HASH, sha256(b"mynumber-custody:operator-log:genesis").
OPERATOR_GENESIS_HASH = "4561ad892f01b3d6d6e20bd210953c54299e27fc88db81bd79839a96909a11a0"

FORWARD = """
CREATE FUNCTION operators_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the operator log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER operators_log_append_only
    BEFORE UPDATE OR DELETE ON operators_operatorlogentry
    FOR EACH ROW EXECUTE FUNCTION operators_log_refuse_change();

CREATE FUNCTION operators_log_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    present boolean;
BEGIN
    IF NEW.seq <= OLD.seq THEN
        RAISE EXCEPTION 'the operator log chain head only moves forward (#% to #%)',
            OLD.seq, NEW.seq USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format(
        'SELECT EXISTS (SELECT 1 FROM %I.operators_operatorlogentry WHERE seq = $1 AND hash = $2)',
        TG_TABLE_SCHEMA
    ) INTO present USING NEW.seq, NEW.hash;
    IF NOT present THEN
        RAISE EXCEPTION 'the operator log chain head must point at an existing entry (#%)',
            NEW.seq USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER operators_log_head_forward_only
    BEFORE UPDATE ON operators_operatorchainhead
    FOR EACH ROW EXECUTE FUNCTION operators_log_head_forward_only();
CREATE TRIGGER operators_log_head_kept
    BEFORE DELETE ON operators_operatorchainhead
    FOR EACH ROW EXECUTE FUNCTION operators_log_refuse_change();
"""

BACKWARD = """
DROP TRIGGER operators_log_head_kept ON operators_operatorchainhead;
DROP TRIGGER operators_log_head_forward_only ON operators_operatorchainhead;
DROP FUNCTION operators_log_head_forward_only();
DROP TRIGGER operators_log_append_only ON operators_operatorlogentry;
DROP FUNCTION operators_log_refuse_change();
"""


def create_head(apps, schema_editor):
    head = apps.get_model("operators", "OperatorChainHead")
    head.objects.using(schema_editor.connection.alias).get_or_create(
        singleton=True, defaults={"seq": 0, "hash": OPERATOR_GENESIS_HASH}
    )


class Migration(migrations.Migration):
    dependencies = [("operators", "0001_initial")]
    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
