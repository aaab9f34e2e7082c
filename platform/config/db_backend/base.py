"""django-tenants' PostgreSQL backend, minus the `SET search_path` that changes nothing, plus
a count of the firm schemas the connection has served.

django-tenants forgets the connection's search path whenever a schema is selected, so every
request paid two extra round trips: `SET search_path = public` to find the firm, then
`SET search_path = firm_x, public` for the firm, even when the connection, reused from the
previous request, was already there. At about 0.2 ms a round trip here, that was a tenth of
a reveal (docs/benchmarks.md). This backend keeps what it knows to be set when the new
selection needs the same path. Whenever the path might have been undone (a rollback, a
savepoint rollback, a closed connection), django-tenants forgets it and the next cursor
sets it again, as before.

`schemas_served` holds the firm schemas selected since the server connection was opened: the
PostgreSQL backend behind it caches the catalogue entries of every relation it touches and
never gives them back, so its memory grows with that number (config.db_recycling closes the
connection at a request's or task's end once it is large).
"""

from __future__ import annotations

from django_tenants.postgresql_backend import base
from django_tenants.utils import get_public_schema_name


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self.schemas_served: set[str] = set()
        super().__init__(*args, **kwargs)

    def set_tenant(self, tenant, include_public=True):
        already_set = self.search_path_set_schemas  # type: ignore[has-type]
        super().set_tenant(tenant, include_public)
        if already_set is not None and already_set == self._get_cursor_search_paths():
            self.search_path_set_schemas = already_set
        if tenant.schema_name != get_public_schema_name():
            self.schemas_served.add(tenant.schema_name)

    def connect(self):
        # A new server backend, empty caches; the schema selected now is the first it serves.
        super().connect()
        self.schemas_served = set()
        if self.schema_name and self.schema_name != get_public_schema_name():
            self.schemas_served.add(self.schema_name)
