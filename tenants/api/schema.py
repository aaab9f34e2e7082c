"""Describes the firm token authentication in the OpenAPI schema (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class FirmTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.FirmTokenAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A firm API token (shown once when an owner creates it).",
        }
