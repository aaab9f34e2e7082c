"""Every firm starts with its settings row. It is written once, in the template schema, and
comes with every clone."""

from django.db import migrations


def create_settings_row(apps, schema_editor):
    FirmSettings = apps.get_model("workspace", "FirmSettings")
    FirmSettings.objects.get_or_create(singleton=True)


class Migration(migrations.Migration):
    dependencies = [("workspace", "0001_initial")]
    operations = [migrations.RunPython(create_settings_row, migrations.RunPython.noop)]
