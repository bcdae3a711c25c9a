"""An in-process HTTP double of the API: routes answer canned JSON and every request is kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from neocloud.sdk.client import Client

BASE_URL = "http://neocloud.test"
API_KEY = "nc_test_secret"

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Api:
    """Routes keyed by (method, path); an unknown route answers 404 in the API's envelope."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, body: Any = None, status: int = 200) -> None:
        """Answer `method path` with a JSON body."""
        self.routes[(method, path)] = lambda _: httpx.Response(status, json=body)

    def handle(self, method: str, path: str, handler: Handler) -> None:
        """Answer `method path` by calling `handler` with the request."""
        self.routes[(method, path)] = handler

    def client(self, api_key: str | None = API_KEY) -> Client:
        """A Client whose requests go to this double."""
        return Client(BASE_URL, api_key, http=httpx.Client(transport=httpx.MockTransport(self)))

    def last_json(self) -> Any:
        """The JSON body of the last request."""
        return json.loads(self.requests[-1].content)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            error = {"code": "not_found", "message": f"{request.url.path} not found", "details": {}}
            return httpx.Response(404, json={"error": error})
        return route(request)
