"""Exports of a billing period: FOCUS 1.2 cost and usage files, and the plain usage CSV."""

from __future__ import annotations

from typing import Literal

from neocloud.sdk.transport import Resource

FocusFormat = Literal["csv", "parquet"]


class Exports(Resource):
    """Exports (`/v1/exports`): finalized and paid invoices of a month, as files."""

    def focus(self, period: str, *, org: str | None = None, format: FocusFormat = "csv") -> bytes:
        """FOCUS 1.2 rows of a month `YYYY-MM` (Parquet only if the server has pyarrow)."""
        response = self._t.send(
            "GET",
            "/v1/exports/focus",
            params={"period": period, "org": org, "format": format},
            accept="application/vnd.apache.parquet" if format == "parquet" else "text/csv",
        )
        return response.content

    def usage(self, period: str, *, org: str | None = None) -> str:
        """One CSV row per line of a month's invoices, with invoice number and org."""
        response = self._t.send(
            "GET", "/v1/exports/usage.csv", params={"period": period, "org": org}, accept="text/csv"
        )
        return response.text
