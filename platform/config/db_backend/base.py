"""django-tenants' PostgreSQL backend, minus the `SET search_path` that changes nothing.

django-tenants forgets the connection's search path whenever a schema is selected, so every
request paid two extra round trips: `SET search_path = public` to find the firm, then
`SET search_path = firm_x, public` for the firm, even when the connection, reused from the
previous request, was already there. At about 0.2 ms a round trip here, that was a tenth of
a reveal (docs/benchmarks.md). This backend keeps what it knows to be set when the new
selection needs the same path. Whenever the path might have been undone (a rollback, a
savepoint rollback, a closed connection), django-tenants forgets it and the next cursor
sets it again, as before.
"""

from __future__ import annotations

from django_tenants.postgresql_backend import base


class DatabaseWrapper(base.DatabaseWrapper):
    def set_tenant(self, tenant, include_public=True):
        already_set = self.search_path_set_schemas  # type: ignore[has-type]
        super().set_tenant(tenant, include_public)
        if already_set is not None and already_set == self._get_cursor_search_paths():
            self.search_path_set_schemas = already_set
