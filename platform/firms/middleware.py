"""Which firm a request is for, from its host name: django-tenants' middleware with a leaner
lookup.

Every request on every host asks this, so it is one plain SQL statement on schema-qualified
tables instead of an ORM query run after switching to the public schema: compiling
`Domain.objects.select_related("tenant").get(...)` was part of the 3.7 ms of Python a
reveal's lookups cost, and the switch a `SET search_path` round trip (D27). Nothing is cached
between requests: a firm renamed, suspended or offboarded is seen at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpResponseNotFound, HttpResponseRedirect
from django.http.request import split_domain_port
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from .models import Domain, Firm

# django-tenants' connection (config.db_backend), which the stubs know as a plain one.
_tenant_connection: Any = connection
_FIRM_COLUMNS = [field.column for field in Firm._meta.concrete_fields]
_FIRM_ATTNAMES = [field.attname for field in Firm._meta.concrete_fields]
_PUBLIC = connection.ops.quote_name(get_public_schema_name())
# Schema-qualified, so it answers whichever firm's schema the connection was left in.
_FIRM_BY_HOST = (
    f"SELECT {', '.join('f.' + connection.ops.quote_name(c) for c in _FIRM_COLUMNS)} "  # noqa: S608
    f"FROM {_PUBLIC}.{Firm._meta.db_table} f "
    f"JOIN {_PUBLIC}.{Domain._meta.db_table} d ON d.tenant_id = f.id "
    "WHERE d.domain = %s"
)


def firm_for_host(hostname: str) -> Firm | None:
    with connection.cursor() as cursor:
        cursor.execute(_FIRM_BY_HOST, [hostname])
        row = cursor.fetchone()
    if row is None:
        return None
    return Firm.from_db(connection.alias, _FIRM_ATTNAMES, row)


class FirmHostMiddleware(TenantMainMiddleware):
    """TenantMainMiddleware.process_request without its first step, the switch to the
    public schema: the lookup does not need it, and with config.db_backend a connection that
    stays with one firm then sets its search path once, not twice per request."""

    def process_request(self, request):
        loopback = _loopback_redirect(request)
        if loopback is not None:
            return loopback
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            _tenant_connection.set_schema_to_public()
            return HttpResponseNotFound()
        firm = firm_for_host(hostname)
        if firm is None:
            _tenant_connection.set_schema_to_public()
            return self.no_tenant_found(request, hostname)
        firm.domain_url = hostname
        request.tenant = firm
        _tenant_connection.set_tenant(firm)
        self.setup_url_routing(request)
        return None


def _loopback_redirect(request) -> HttpResponseRedirect | None:
    """`make run` prints http://localhost:8000/, but a newcomer often types 127.0.0.1:8000:
    firms are told apart by host name, so an address has no site of its own. Where
    settings.LOOPBACK_HOSTS lists it (the embedded default only), send it to the public site
    on the bare domain, same port and path; elsewhere it stays a 404 (a disallowed host)."""
    hostname, port = split_domain_port(request.META.get("HTTP_HOST", ""))
    if not hostname or hostname not in settings.LOOPBACK_HOSTS:
        return None
    netloc = f"{settings.BASE_DOMAIN}:{port}" if port else settings.BASE_DOMAIN
    return HttpResponseRedirect(f"{settings.SITE_SCHEME}://{netloc}{request.get_full_path()}")
