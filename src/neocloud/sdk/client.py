"""`neocloud.Client`: the typed Python client of the neocloud API."""

from __future__ import annotations

from types import TracebackType

import httpx

from neocloud.schemas.tenancy import Whoami
from neocloud.sdk.audit import Audit
from neocloud.sdk.budgets import Budgets
from neocloud.sdk.config import resolve_settings
from neocloud.sdk.contracts import Contracts
from neocloud.sdk.credits import Credits
from neocloud.sdk.economics import Economics
from neocloud.sdk.events import Events
from neocloud.sdk.exports import Exports
from neocloud.sdk.fleet import Fleet, Quotas, SellableCaps
from neocloud.sdk.invoices import Invoices
from neocloud.sdk.jobs import Jobs
from neocloud.sdk.keys import Keys
from neocloud.sdk.meters import Meters
from neocloud.sdk.orgs import Members, Orgs, Projects
from neocloud.sdk.prices import Prices
from neocloud.sdk.transport import Transport
from neocloud.sdk.usage import Usage
from neocloud.sdk.webhooks import Webhooks


class Client:
    """A connection to one neocloud server, with one resource group per part of the API.

    `url` and `api_key` default to `NEOCLOUD_URL` / `NEOCLOUD_API_KEY`, then the config file
    (`$NEOCLOUD_CONFIG` or `~/.config/neocloud/config.toml`). Pass `http` to bring your own
    `httpx.Client` (its transport, proxies, timeouts); the Client then leaves closing it to you.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30,
    ) -> None:
        settings = resolve_settings(url, api_key)
        self.url = settings.url
        owns_http = http is None
        self._transport = Transport(
            settings.url,
            settings.api_key,
            http if http is not None else httpx.Client(timeout=timeout),
            owns_http=owns_http,
        )
        self.orgs = Orgs(self._transport)
        self.projects = Projects(self._transport)
        self.members = Members(self._transport)
        self.keys = Keys(self._transport)
        self.fleet = Fleet(self._transport)
        self.quotas = Quotas(self._transport)
        self.sellable_caps = SellableCaps(self._transport)
        self.contracts = Contracts(self._transport)
        self.jobs = Jobs(self._transport)
        self.usage = Usage(self._transport)
        self.meters = Meters(self._transport)
        self.prices = Prices(self._transport)
        self.credits = Credits(self._transport)
        self.invoices = Invoices(self._transport)
        self.economics = Economics(self._transport)
        self.exports = Exports(self._transport)
        self.webhooks = Webhooks(self._transport)
        self.budgets = Budgets(self._transport)
        self.events = Events(self._transport)
        self.audit = Audit(self._transport)

    def health(self) -> str:
        """The server's `/healthz` status (`"ok"` when it is up); needs no key."""
        data = self._transport.request("GET", "/healthz")
        return str(data.get("status")) if isinstance(data, dict) else str(data)

    def me(self) -> Whoami:
        """Who the API key belongs to: org, role, project."""
        return self._transport.call("GET", "/v1/me", Whoami)

    def close(self) -> None:
        """Release connections (only those the Client opened itself)."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"
