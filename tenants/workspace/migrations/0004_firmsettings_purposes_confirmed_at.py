"""The first-run checklist (tenants.workspace.onboarding) asks the owner to confirm the
purposes of use. A firm that already collects numbers has chosen them on every request, so
it starts confirmed; a new firm (and the template) starts empty."""

from django.db import migrations, models
from django.utils import timezone


def confirm_where_collection_began(apps, schema_editor):
    FirmSettings = apps.get_model("workspace", "FirmSettings")
    MyNumberRecord = apps.get_model("custody", "MyNumberRecord")
    CollectionRequest = apps.get_model("collection", "CollectionRequest")
    if MyNumberRecord.objects.exists() or CollectionRequest.objects.exists():
        FirmSettings.objects.filter(purposes_confirmed_at__isnull=True).update(
            purposes_confirmed_at=timezone.now()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0003_firmsettings_deletion_mode"),
        ("custody", "0003_import_upload"),
        ("collection", "0002_channel"),
    ]

    operations = [
        migrations.AddField(
            model_name="firmsettings",
            name="purposes_confirmed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="利用目的の確定日時"),
        ),
        migrations.RunPython(confirm_where_collection_began, migrations.RunPython.noop),
    ]
