"""The chain head row, at seq 0 and the genesis hash. Written once in the template schema;
every firm schema is a copy of the template, so every firm starts with it."""

from django.db import migrations

from tenants.auditlog.chain import GENESIS_HASH


def create_chain_head(apps, schema_editor):
    ChainHead = apps.get_model("auditlog", "ChainHead")
    ChainHead.objects.get_or_create(singleton=True, defaults={"seq": 0, "hash": GENESIS_HASH})


class Migration(migrations.Migration):
    dependencies = [("auditlog", "0001_initial")]
    operations = [migrations.RunPython(create_chain_head, migrations.RunPython.noop)]
