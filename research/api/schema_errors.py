"""Documents the API's error answers in the OpenAPI schema, once for every operation.

drf-spectacular documents only the success answer of each view; the 4xx answers every route can
give (research.api.errors shapes them all alike) are added here as a postprocessing hook, so a
client generated from `/api/schema/` and the schema fuzzer (tests/fuzz) both see them.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema

from research.api.versioning import CONFLICT_DESCRIPTION, IF_MATCH

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every 4xx: a sentence, and what is wrong where (field, row or line).",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "row": {"type": "integer"},
                    "line": {"type": "integer"},
                    "message": {"type": "string"},
                },
                "required": ["message"],
            },
        },
    },
    "required": ["detail"],
}
REASONS = {
    "400": "Bad input: the errors say what is wrong and where.",
    "401": "No valid credentials.",
    "403": "The caller's role in the project lacks the capability.",
    "404": "No such object, or one of a project the caller is not a member of.",
    "409": CONFLICT_DESCRIPTION,
    "413": "The request declares a body larger than the upload limit.",
    "415": "The request body is in a content type the operation does not read.",
    "429": "Too many failed log-in attempts for this username from this address.",
}
METHODS = ("get", "post", "put", "patch", "delete")
TOKEN_PATH = "/api/v1/auth/token/"  # noqa: S105 (a URL, not a password)


def _codes_for(path: str, operation: dict[str, Any]) -> tuple[str, ...]:
    """The error statuses an operation can answer, by what its route does."""
    if path == TOKEN_PATH:  # the login exchange: bad credentials, then the lockout
        return ("400", "429")
    codes = ["400"]
    if operation.get("security") != [{}]:
        codes += ["401", "403"]
    if "requestBody" in operation:
        codes += ["413", "415"]
    if any(p.get("name") == IF_MATCH.name for p in operation.get("parameters", [])):
        codes.append("409")  # a versioned write (research.api.versioning)
    # Every route can 404: a missing or foreign object, or a list page past the end.
    codes.append("404")
    return tuple(codes)


def document_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the shared error component and, to every
    operation, the error statuses it can answer that its view did not document itself."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, item in result.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in _codes_for(path, operation):
                content = {"application/json": {"schema": ref}}
                responses.setdefault(code, {"description": REASONS[code], "content": content})
    return result


class ObjectSchema(AutoSchema):
    """Schema of a `list` action that answers one object (a search result, stats), not a page:
    drf-spectacular would otherwise document a paginated array of it."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False
