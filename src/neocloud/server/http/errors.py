"""One error envelope for every failure: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from neocloud.schemas.common import rule_message


class ApiError(Exception):
    """A failure the caller can act on; services raise it, the app renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        # Sent with the envelope, e.g. Retry-After on a 429.
        self.headers = headers or {}


def not_found(kind: str, ident: str) -> ApiError:
    """404 for a missing resource, or one that belongs to another org (indistinguishable)."""
    return ApiError(404, "not_found", f"{kind} {ident!r} not found", {"resource": kind})


def invalid(field: str, message: str) -> ApiError:
    """422 naming the offending field."""
    return ApiError(422, "invalid_request", f"{field}: {message}", {"field": field})


def forbidden(message: str) -> ApiError:
    """403: authenticated but not allowed."""
    return ApiError(403, "forbidden", message)


def conflict(message: str, details: dict[str, Any] | None = None) -> ApiError:
    """409: the request conflicts with the resource's state."""
    return ApiError(409, "conflict", message, details)


def _envelope(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "details": details}},
        headers=headers,
    )


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers fully at this request's path."""
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Render ApiError, validation errors and HTTP errors as the one envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _envelope(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field_path(tuple(e.get("loc", ()))),
                "message": rule_message(e),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return _envelope(
            422,
            "invalid_request",
            f"{first['field']}: {first['message']}",
            {"field": first["field"], "errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: "bad_request",
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }
        headers = dict(exc.headers or {})
        details: dict[str, Any] = {}
        if exc.status_code == 405:
            # Starlette names only the first route matching the path; Allow lists them all.
            allowed = allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            details["allowed"] = allowed
        return _envelope(
            exc.status_code,
            code.get(exc.status_code, "error"),
            str(exc.detail),
            details,
            headers or None,
        )
