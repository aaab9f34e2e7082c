"""Provisioning clones the template in one transaction; migrate_schemas skips what is current."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists

from firms.models import Domain, Firm, FirmKey, TemplateDump
from firms.provisioning import TemplateSchemaMissing, provision_firm
from firms.schema_status import schemas_behind
from tests.helpers import make_firm

pytestmark = pytest.mark.django_db


def execute(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def test_a_provisioned_firm_has_schema_domain_key_record_and_migration_history():
    firm = make_firm("acme")
    assert schema_exists("firm_acme")
    assert Domain.objects.get(tenant=firm).domain == "acme.localhost"
    assert FirmKey.objects.filter(firm=firm, state=FirmKey.State.ACTIVE).exists()
    assert schemas_behind(["firm_acme"]) == []


def test_a_failed_clone_leaves_nothing_half_made():
    execute("CREATE SCHEMA firm_acme")  # the clone will refuse an existing schema
    with pytest.raises(Exception, match="already exists"):
        provision_firm(name="Acme", slug="acme", owner=None)
    assert not Firm.objects.filter(slug="acme").exists()
    assert not Domain.objects.filter(domain="acme.localhost").exists()


def test_provisioning_refuses_clearly_without_a_current_template():
    TemplateDump.objects.update(migrations_digest="older code")
    with pytest.raises(TemplateSchemaMissing, match="migrate_schemas"):
        provision_firm(name="Acme", slug="acme", owner=None)
    TemplateDump.objects.all().delete()
    with pytest.raises(TemplateSchemaMissing, match="migrate_schemas"):
        provision_firm(name="Acme", slug="acme", owner=None)
    assert not Firm.objects.filter(slug="acme").exists()
    assert not schema_exists("firm_acme")


def test_a_no_op_migrate_keeps_the_template_dump_and_a_stale_one_is_remade():
    """pg_dump reads the whole catalogue: a no-op migrate_schemas must not run it."""
    dump = TemplateDump.objects.get()
    call_command("migrate_schemas", verbosity=0)
    assert TemplateDump.objects.get().created_at == dump.created_at
    TemplateDump.objects.update(migrations_digest="older code")
    call_command("migrate_schemas", verbosity=0)
    remade = TemplateDump.objects.get()
    assert remade.migrations_digest != "older code" and remade.created_at > dump.created_at
    make_firm("acme")  # provisioning accepts the remade dump


def columns_of(schema: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2",
            [schema],
        )
        return [
            (t, c, d, n, (default or "").replace(schema, "SCHEMA"))
            for t, c, d, n, default in cursor.fetchall()
        ]


def indexes_of(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY indexname", [schema]
        )
        return [row[0].replace(schema, "SCHEMA") for row in cursor.fetchall()]


def test_a_clone_matches_the_template_in_columns_indexes_and_seed_rows():
    make_firm("acme")
    assert columns_of("firm_acme") == columns_of("firm_template")
    assert indexes_of("firm_acme") == indexes_of("firm_template")
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM firm_template.django_migrations ORDER BY 1, 2")
        template_history = cursor.fetchall()
        cursor.execute("SELECT app, name FROM firm_acme.django_migrations ORDER BY 1, 2")
        assert cursor.fetchall() == template_history
        # The clone's sequences continue after the copied rows.
        cursor.execute(
            "INSERT INTO firm_acme.django_migrations (app, name, applied) VALUES ('x', 'y', now())"
        )


def test_cloning_leaves_the_connection_in_the_public_schema():
    make_firm("acme")
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert "public" in cursor.fetchone()[0]


def test_a_migration_of_a_shared_app_does_not_make_firm_schemas_behind():
    from firms.schema_status import tenant_app_labels

    make_firm("acme")
    execute("DELETE FROM firm_acme.django_migrations WHERE app = 'firms'")
    assert schemas_behind(["firm_acme"], tenant_app_labels()) == []
    assert schemas_behind(["firm_acme"]) == ["firm_acme"]


def test_schemas_behind_finds_a_schema_missing_a_migration():
    make_firm("acme")
    make_firm("globex")
    execute("DELETE FROM firm_globex.django_migrations WHERE app = 'workspace'")
    assert schemas_behind(["firm_template", "firm_acme", "firm_globex"]) == ["firm_globex"]


def test_migrate_schemas_check_fails_while_a_schema_is_behind_then_migrate_fixes_it(capsys):
    make_firm("acme")
    # Unapply the tenant app's latest migration in that schema, whichever it is today.
    from django.db.migrations.loader import MigrationLoader

    names = sorted(
        name for app, name in MigrationLoader(None).disk_migrations if app == "workspace"
    )
    call_command("migrate_schemas", "workspace", names[-2], schema_name="firm_acme", verbosity=0)
    connection.set_schema_to_public()
    with pytest.raises(SystemExit) as exit_info:
        call_command("migrate_schemas", check_unapplied=True, verbosity=0)
    assert exit_info.value.code == 1
    assert "firm_acme" in capsys.readouterr().err
    call_command("migrate_schemas", verbosity=0)
    assert schemas_behind(["firm_acme"]) == []
    connection.set_schema_to_public()
    call_command("migrate_schemas", check_unapplied=True, verbosity=0)  # exits 0: no raise


def test_template_dump_reaches_a_socket_host_given_in_options(monkeypatch):
    from firms.template_schema import dump_template

    host = connection.settings_dict["HOST"]
    monkeypatch.setitem(connection.settings_dict, "HOST", "")
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {"host": host})
    script = dump_template()
    assert "CREATE TABLE firm_template.workspace_firmsettings" in script
    assert "search_path" not in script and "CREATE SCHEMA" not in script


def test_the_search_path_is_set_again_after_a_rolled_back_transaction():
    """TENANT_LIMIT_SET_CALLS skips SET search_path while the cached path is valid; a
    rollback undoes a SET made inside it, so the next query must set it again, or it would
    run in whatever schema the connection had before (another firm's, across requests)."""
    from django.db import transaction

    from tenants.custody.models import Person

    acme = make_firm("acme")
    connection.set_schema_to_public()
    list(Firm.objects.all()[:1])  # the connection's path is now public
    connection.set_tenant(acme)
    with pytest.raises(RuntimeError), transaction.atomic():
        Person.objects.count()  # SET search_path to acme happens inside the savepoint...
        raise RuntimeError  # ...and is undone by its rollback
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert "firm_acme" in cursor.fetchone()[0]
    assert Person.objects.count() == 0  # and the firm's table is found


def test_search_path_is_set_only_when_it_changes():
    """config.db_backend: selecting the schema the connection is already on sends no SET;
    switching away and back sends it again; and after a rollback that undid a SET, the
    path the backend believes in is the real one (D27)."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from tenants.custody.models import Person

    acme, globex = make_firm("acme"), make_firm("globex")

    def sets_while(work) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            work()
        return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search")]

    def count_in(firm) -> None:
        connection.set_tenant(firm)
        Person.objects.count()

    def real_path() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW search_path")
            return cursor.fetchone()[0]

    assert sets_while(lambda: count_in(acme)) == ['SET search_path = "firm_acme","public"']
    assert sets_while(lambda: count_in(acme)) == []  # already there: no round trip
    assert sets_while(lambda: count_in(globex)) == ['SET search_path = "firm_globex","public"']
    assert sets_while(lambda: count_in(acme)) == ['SET search_path = "firm_acme","public"']
    with pytest.raises(RuntimeError), transaction.atomic():
        count_in(globex)
        raise RuntimeError  # the SET to globex is undone by the savepoint's rollback
    connection.set_tenant(globex)
    assert real_path() == "firm_globex, public"
    assert sets_while(lambda: count_in(acme)) == ['SET search_path = "firm_acme","public"']
    assert real_path() == "firm_acme, public"
