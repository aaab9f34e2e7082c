"""Deletion records are proof: the database refuses to change or remove one, as it does for
the access log (auditlog 0003). Schema-unqualified names, so the template's dump carries the
function and triggers into every firm."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION retention_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'deletion records are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER retention_record_append_only
    BEFORE UPDATE OR DELETE ON retention_deletionrecord
    FOR EACH ROW EXECUTE FUNCTION retention_refuse_change();
CREATE TRIGGER retention_record_no_truncate
    BEFORE TRUNCATE ON retention_deletionrecord
    FOR EACH STATEMENT EXECUTE FUNCTION retention_refuse_change();
"""

BACKWARD = """
DROP TRIGGER retention_record_no_truncate ON retention_deletionrecord;
DROP TRIGGER retention_record_append_only ON retention_deletionrecord;
DROP FUNCTION retention_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("retention", "0002_seed_rules")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
