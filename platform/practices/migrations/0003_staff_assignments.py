# Staff assignments (担当): which staff member reaches which client (docs/decisions.md,
# "Staff assignments").

import django.db.models.deletion
from django.db import migrations, models


def existing_staff_keep_every_client(apps, schema_editor):
    # Until now every member reached every client: staff already in a practice keep that, so
    # nobody loses access in the middle of the season. Staff added from now on start with none.
    PracticeMember = apps.get_model("practices", "PracticeMember")
    PracticeMember.objects.filter(role="staff").update(all_clients=True)


class Migration(migrations.Migration):
    dependencies = [
        ("practices", "0002_practice_billing_firm"),
    ]

    operations = [
        migrations.AddField(
            model_name="practicemember",
            name="all_clients",
            field=models.BooleanField(default=False, verbose_name="全顧問先を担当"),
        ),
        migrations.RunPython(existing_staff_keep_every_client, migrations.RunPython.noop),
        migrations.CreateModel(
            name="ClientAssignment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("assigned_by_email", models.CharField(blank=True, max_length=254)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "link",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="assignments",
                        to="practices.practiceclient",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="assignments",
                        to="practices.practicemember",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("member", "link"), name="one_assignment_per_pair"
                    )
                ],
            },
        ),
    ]
