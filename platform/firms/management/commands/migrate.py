"""`migrate` is `migrate_schemas` here, as in django-tenants (test databases use it too)."""

from .migrate_schemas import Command  # noqa: F401
