"""The OpenAPI schema and its browsable docs, generated from the code (drf-spectacular).

Served on the bare domain for payroll developers, and on each firm's host to its members.
The schema always describes the firm API (config.urls_tenant), whichever host serves it.
"""

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
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", authentication_classes=[], permission_classes=[]
        ),
        name="api-docs",
    ),
]
