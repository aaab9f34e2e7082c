"""The OpenAPI schema and its browsable docs, generated from the code (drf-spectacular).

Served on the bare domain for payroll developers, and on each firm's host to its members.
The schema always describes the firm API (config.urls_tenant), whichever host serves it.
"""

from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

API_URLCONF = "config.urls_tenant"

urlpatterns = [
    path(
        "schema/",
        SpectacularAPIView.as_view(
            urlconf=API_URLCONF, authentication_classes=[], permission_classes=[]
        ),
        name="api-schema",
    ),
    path(
        "docs/",
        # Swagger UI sets inline styles; this page alone may, since it shows no data.
        # Scripts stay 'self' only (the split view serves its initialiser as a file).
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", authentication_classes=[], permission_classes=[]
            )
        ),
        name="api-docs",
    ),
]
