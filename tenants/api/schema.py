"""The firm API in the OpenAPI schema (drf-spectacular): the token scheme and the errors."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class FirmTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.FirmTokenAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A firm API token (shown once when an owner creates it).",
        }


# Every firm API operation can answer with these errors (config.error_layer); the schema
# says so, so that clients (and schemathesis, tests/trust/test_api_schema.py) know them.
ERROR_RESPONSES = {
    "400": "Malformed input: a field, a filter or a number is invalid.",
    "401": "No token, or a revoked, expired or other firm's token.",
    "402": "The firm's plan or payment state does not allow this.",
    "403": "The token's scope or its user's role does not allow this.",
    "404": "No such object in this firm.",
    "409": (
        "Conflicts with the current state: a duplicate number, a request already answered, an "
        "employee who still has dependents, or a stored ciphertext that fails its integrity "
        "check (code integrity_failure; logged, never retried)."
    ),
    "503": "The key service or the access log is unavailable; nothing was revealed.",
}
ERROR_SCHEMA = {"type": "object", "additionalProperties": True}


class FirmAutoSchema(AutoSchema):
    """drf-spectacular's schema with the firm API's error responses added to every operation."""

    def _resolve_path_parameters(self, variables):
        # Django's <int:...> converter matches digits only: a negative id never reaches the
        # view (the URL resolver answers 404), so the schema says ids are not negative.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":
                parameter["schema"]["minimum"] = 0
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        for code, description in ERROR_RESPONSES.items():
            responses.setdefault(
                code,
                {
                    "description": description,
                    "content": {"application/json": {"schema": ERROR_SCHEMA}},
                },
            )
        return responses
