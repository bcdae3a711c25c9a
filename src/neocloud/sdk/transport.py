"""HTTP plumbing shared by every resource group: auth, query encoding, errors, parsing."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from neocloud import __version__
from neocloud.schemas.common import rule_message
from neocloud.sdk.errors import (
    BAD_RESPONSE,
    INVALID_REQUEST,
    TIMEOUT,
    UNREACHABLE,
    NeocloudError,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

When = date | datetime | str
"""A moment for a `from`/`to` parameter: a date, a datetime, or ISO text passed as is."""

QueryValue = str | int | Decimal | date | datetime | Enum | Sequence[str] | None


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(into: type[T]) -> TypeAdapter[T]:
    # Building an adapter compiles a schema; each response type needs that only once.
    adapter = _ADAPTERS.get(into)
    if adapter is None:
        adapter = _ADAPTERS[into] = TypeAdapter(into)
    return adapter


def segment(value: str) -> str:
    """Quote an id or name for use as one path segment (a `/` in it must not change the route)."""
    return quote(value, safe="")


def iso(value: date | datetime | str) -> str:
    """ISO 8601 for a query parameter; aware datetimes go to UTC, naive ones are taken as UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _query_value(value: QueryValue) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date | datetime):
        return iso(value)
    if isinstance(value, str | int | Decimal):
        return str(value)
    return ",".join(value)


def build(model: type[M], **fields: Any) -> M:
    """A request body checked against the shared schema before it is sent.

    The server runs the same check; failing here gives the same error without a round trip.
    """
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": rule_message(e)}
            for e in exc.errors()
        ]
        first = errors[0]
        raise NeocloudError(
            422,
            INVALID_REQUEST,
            f"{first['field']}: {first['message']}",
            {"field": first["field"], "errors": errors},
        ) from None


def error_from(response: httpx.Response) -> NeocloudError:
    """The NeocloudError for a failed response, from its envelope when it has one."""
    try:
        body = response.json()
        error = body["error"]
        return NeocloudError(
            response.status_code,
            str(error["code"]),
            str(error["message"]),
            dict(error.get("details") or {}),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        # Not our envelope: a proxy, a crash page, or something else answering on that port.
        text = response.text.strip()[:200] or response.reason_phrase
        return NeocloudError(response.status_code, f"http_{response.status_code}", text)


class Transport:
    """Sends requests to one neocloud server with one API key."""

    def __init__(self, url: str, api_key: str | None, http: httpx.Client, *, owns_http: bool):
        self.url = url
        self._api_key = api_key
        self._http = http
        self._owns_http = owns_http

    def close(self) -> None:
        """Close the connection pool if this transport created it."""
        if self._owns_http:
            self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: BaseModel | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON, or raise NeocloudError."""
        response = self.send(
            method, path, params=params, body=body, idempotency_key=idempotency_key
        )
        try:
            # Numbers stay exact: a JSON number never passes through float on its way to Decimal.
            return json.loads(response.content, parse_float=Decimal) if response.content else None
        except ValueError as exc:
            raise NeocloudError(
                response.status_code, BAD_RESPONSE, f"{method} {path} did not return JSON"
            ) from exc

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: BaseModel | None = None,
        idempotency_key: str | None = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        """Send one request and return the successful response as is (files: CSV, HTML, …)."""
        headers = {"Accept": accept, "User-Agent": f"neocloud-sdk/{__version__}"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        query = {k: q for k, v in (params or {}).items() if (q := _query_value(v)) is not None}
        payload = body.model_dump(mode="json", exclude_none=True) if body is not None else None
        try:
            response = self._http.request(
                method, self.url + path, params=query, json=payload, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise NeocloudError(
                None, TIMEOUT, f"neocloud at {self.url} did not answer in time", {"url": self.url}
            ) from exc
        except httpx.TransportError as exc:
            raise NeocloudError(
                None,
                UNREACHABLE,
                f"cannot reach neocloud at {self.url}",
                {"url": self.url, "reason": str(exc)},
            ) from exc
        if response.is_error:
            raise error_from(response)
        return response

    def call(
        self,
        method: str,
        path: str,
        into: type[T],
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: BaseModel | None = None,
        idempotency_key: str | None = None,
    ) -> T:
        """Send one request and parse its JSON into `into` (a model, Page[...] or list[...])."""
        data = self.request(method, path, params=params, body=body, idempotency_key=idempotency_key)
        try:
            return _adapter(into).validate_python(data)
        except ValidationError as exc:
            raise NeocloudError(
                None, BAD_RESPONSE, f"{method} {path} returned an unexpected shape: {exc}"
            ) from exc


class Resource:
    """Base of a resource group: holds the transport."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport
