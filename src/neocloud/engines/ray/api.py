"""The few Ray dashboard endpoints the Ray engine uses, over plain HTTP (no `ray` import).

Jobs API: `POST /api/jobs/`, `GET /api/jobs/{id}`, `POST /api/jobs/{id}/stop`,
`GET /api/jobs/{id}/logs`; State API: `GET /api/v0/nodes` and `GET /api/v0/logs/file` (one file
of a node's Ray log directory, where each attempt's runner keeps its facts).

A connection that fails or times out, or a dashboard answering 502–504, is EngineUnavailable;
any other refusal is EngineError with Ray's own message.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from neocloud.engines.base import EngineConfigError, EngineError, EngineUnavailable
from neocloud.engines.ray.options import RayOptions

_GATEWAY = (502, 503, 504)


class RayApi:
    """A small client of one Ray cluster's dashboard."""

    def __init__(self, options: RayOptions) -> None:
        self.address = options.address
        self._http = httpx.Client(base_url=options.address, timeout=options.request_timeout_seconds)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise EngineUnavailable(
                f"Ray dashboard at {self.address} did not answer {method} {path} in time: {exc}"
            ) from exc
        except httpx.TransportError as exc:
            raise EngineUnavailable(
                f"cannot reach the Ray dashboard at {self.address} ({method} {path}): {exc}; "
                "if Ray is up, check engine_options.address (the head's dashboard URL, "
                "`ray start --head --dashboard-host=<reachable address>`)"
            ) from exc
        if r.status_code in _GATEWAY:
            raise EngineUnavailable(
                f"Ray dashboard at {self.address} answered {r.status_code} to {method} {path}"
            )
        return r

    def _json(self, r: httpx.Response, what: str) -> Any:
        try:
            return r.json()
        except ValueError as exc:
            raise EngineConfigError(
                f"{self.address} answered {what} with something that is not Ray's JSON "
                f"(HTTP {r.status_code}): engine_options.address must be the Ray head's "
                "dashboard URL (port 8265 unless --dashboard-port says otherwise)"
            ) from exc

    def version(self) -> dict[str, Any]:
        """`GET /api/version`: proves the address is a Ray dashboard."""
        r = self._request("GET", "/api/version")
        if r.status_code != 200:
            raise EngineError(f"GET /api/version answered HTTP {r.status_code}")
        document = self._json(r, "GET /api/version")
        if not isinstance(document, dict) or "ray_version" not in document:
            raise EngineError("GET /api/version did not name a Ray version")
        return document

    def submit(self, body: dict[str, Any]) -> bool:
        """Submit a job; False when a job with that submission id already exists."""
        r = self._request("POST", "/api/jobs/", json=body)
        if r.status_code == 200:
            return True
        if "already exists" in r.text:
            return False
        raise EngineError(f"Ray refused the job {body.get('submission_id')}: {_tail(r.text)}")

    def job(self, submission_id: str) -> dict[str, Any] | None:
        """A job's details, or None when Ray has no such job."""
        r = self._request("GET", f"/api/jobs/{submission_id}")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise EngineError(
                f"GET /api/jobs/{submission_id}: HTTP {r.status_code}: {_tail(r.text)}"
            )
        document: dict[str, Any] = self._json(r, f"GET /api/jobs/{submission_id}")
        return document

    def stop(self, submission_id: str) -> None:
        """Ask Ray to stop a job (SIGTERM, then SIGKILL after the job's stop wait time)."""
        r = self._request("POST", f"/api/jobs/{submission_id}/stop")
        if r.status_code not in (200, 404):
            raise EngineError(f"Ray could not stop {submission_id}: {_tail(r.text)}")

    def logs(self, submission_id: str) -> str:
        """A job's whole output as Ray keeps it ('' when it has none yet)."""
        r = self._request("GET", f"/api/jobs/{submission_id}/logs")
        if r.status_code == 404:
            return ""
        if r.status_code != 200:
            raise EngineError(f"logs of {submission_id}: HTTP {r.status_code}: {_tail(r.text)}")
        return str(self._json(r, "logs").get("logs") or "")

    def nodes(self) -> list[dict[str, Any]]:
        """Every node the cluster knows, alive or dead, with its resources."""
        r = self._request("GET", "/api/v0/nodes", params={"detail": "1", "limit": "10000"})
        if r.status_code == 404:
            raise EngineConfigError(
                f"{self.address} has no /api/v0/nodes: engine_options.address must be the Ray "
                "head's dashboard URL, and Ray must be installed as ray[default] (Ray >= 2.9)"
            )
        if r.status_code != 200:
            raise EngineError(f"GET /api/v0/nodes: HTTP {r.status_code}: {_tail(r.text)}")
        document = self._json(r, "GET /api/v0/nodes")
        try:
            rows = document["data"]["result"]["result"]
        except (KeyError, TypeError) as exc:
            raise EngineError("GET /api/v0/nodes: no node list in the answer") from exc
        return list(rows)

    def node_file(self, node_id: str, filename: str) -> dict[str, Any] | None:
        """The last line of a file in a node's Ray log directory, as JSON (None if absent)."""
        r = self._request(
            "GET",
            "/api/v0/logs/file",
            params={"node_id": node_id, "filename": filename, "lines": "1"},
        )
        if r.status_code != 200:
            return None
        try:
            value = json.loads(r.text.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None
        return value if isinstance(value, dict) else None

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()


def _tail(text: str) -> str:
    """The last line of an error (Ray answers with whole tracebacks)."""
    lines = [line for line in text.strip().splitlines() if line.strip(" .")]
    return lines[-1][:500] if lines else "(no message)"
