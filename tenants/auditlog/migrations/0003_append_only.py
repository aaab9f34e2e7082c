"""Append-only at the database level.

Triggers refuse UPDATE, DELETE and TRUNCATE of log rows, and let the chain head only move
forward to an entry that exists with that hash. Names are schema-unqualified: migrations run
with the search path set to the schema being migrated, so the functions are created in that
schema, and `pg_dump --schema firm_template` carries them (schema-qualified) into every firm
cloned from the template. The function bodies hold no schema name; the head trigger finds the
log through TG_TABLE_SCHEMA.

Limit: the table's owner or a superuser can still disable the triggers; the public
checkpoints and the chain itself detect what is done meanwhile (docs/access-log.md).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION auditlog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER auditlog_entry_append_only
    BEFORE UPDATE OR DELETE ON auditlog_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION auditlog_refuse_change();
CREATE TRIGGER auditlog_entry_no_truncate
    BEFORE TRUNCATE ON auditlog_accesslogentry
    FOR EACH STATEMENT EXECUTE FUNCTION auditlog_refuse_change();

CREATE FUNCTION auditlog_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    present boolean;
BEGIN
    IF NEW.seq <= OLD.seq THEN
        RAISE EXCEPTION 'the access log chain head only moves forward (#% to #%)', OLD.seq, NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format(
        'SELECT EXISTS (SELECT 1 FROM %I.auditlog_accesslogentry WHERE seq = $1 AND hash = $2)',
        TG_TABLE_SCHEMA
    ) INTO present USING NEW.seq, NEW.hash;
    IF NOT present THEN
        RAISE EXCEPTION 'the access log chain head must point at an existing entry (#%)', NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER auditlog_head_forward_only
    BEFORE UPDATE ON auditlog_chainhead
    FOR EACH ROW EXECUTE FUNCTION auditlog_head_forward_only();
CREATE TRIGGER auditlog_head_kept
    BEFORE DELETE ON auditlog_chainhead
    FOR EACH ROW EXECUTE FUNCTION auditlog_refuse_change();
CREATE TRIGGER auditlog_head_no_truncate
    BEFORE TRUNCATE ON auditlog_chainhead
    FOR EACH STATEMENT EXECUTE FUNCTION auditlog_refuse_change();
"""

BACKWARD = """
DROP TRIGGER auditlog_head_no_truncate ON auditlog_chainhead;
DROP TRIGGER auditlog_head_kept ON auditlog_chainhead;
DROP TRIGGER auditlog_head_forward_only ON auditlog_chainhead;
DROP FUNCTION auditlog_head_forward_only();
DROP TRIGGER auditlog_entry_no_truncate ON auditlog_accesslogentry;
DROP TRIGGER auditlog_entry_append_only ON auditlog_accesslogentry;
DROP FUNCTION auditlog_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("auditlog", "0002_chain_head")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
