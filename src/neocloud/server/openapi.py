"""The OpenAPI document declares every error status a route can answer, with the one envelope.

Statuses follow from what an operation is, read from the document FastAPI generates, not from
a list kept per route:
- every operation: 413 (body limit, before routing) and 422 (parameters, bodies, control
  characters);
- one that takes a body: 400 (a body that is not JSON text);
- one that authenticates (an `Authorization` header parameter): 401, 403, 404 (orgs, projects
  and resources it names), 429 (failed authentications are rate-limited);
- a state-changing one that authenticates: 409 as well.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from neocloud.schemas.common import ErrorEnvelope

DESCRIPTIONS = {
    400: "The body is not a JSON document",
    401: "No key, or an invalid, revoked or expired one",
    403: "The key may not do this",
    404: "Not found, or not the caller's to see",
    409: "Conflicts with the resource's state",
    413: "The request body is larger than the route allows",
    422: "A parameter or a field is invalid; `details.field` names it",
    429: "Too many failed authentications; retry after `Retry-After` seconds",
}
CHANGES_STATE = {"post", "put", "patch", "delete"}
METHODS = {"get", "head", "post", "put", "patch", "delete", "options"}


def error_statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an OpenAPI operation answers."""
    statuses = {413, 422}
    if "requestBody" in operation:
        statuses.add(400)
    parameters = operation.get("parameters", [])
    if any(
        p.get("in") == "header" and p.get("name", "").lower() == "authorization" for p in parameters
    ):
        statuses |= {401, 403, 404, 429}
        if method in CHANGES_STATE:
            statuses.add(409)
    return statuses


def declare_error_responses(app: FastAPI) -> None:
    """Make app.openapi() declare each operation's error statuses with the envelope schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(envelope.pop("$defs", {}))
        components["ErrorEnvelope"] = envelope
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
        for item in schema.get("paths", {}).values():
            for method, operation in item.items():
                if method not in METHODS:
                    continue
                responses = operation.setdefault("responses", {})
                for status in sorted(error_statuses(method, operation)):
                    # A route's own declaration stands, except FastAPI's default 422 body.
                    if str(status) not in responses or status == 422:
                        responses[str(status)] = {
                            "description": DESCRIPTIONS[status],
                            "content": content,
                        }
        # FastAPI's own 422 body is replaced by the envelope everywhere.
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
