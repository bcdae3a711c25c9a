"""Which network a sandboxed local attempt sees, chosen per local cluster and per kind of org.

`none`: the rank gets a network namespace of its own (bwrap --unshare-net) holding only its own
loopback interface: it reaches nothing of the machine (not the control plane's database or API
on 127.0.0.1, not another job's listener, not the host's abstract Unix sockets) and nothing
beyond it. `host`: the rank shares the machine's network namespace, so it reaches every address
and port the machine reaches, loopback included, as any local process would.

External orgs get `none` unless the operator chose `host` for the cluster
(`engine_options.external_network`); internal orgs are the operator's own teams, trusted with
the operator's network, and get `host` unless the operator chose `none`
(`engine_options.internal_network`). A kind other than "internal" counts as external.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

NONE = "none"
HOST = "host"
CHOICES = (NONE, HOST)
EXTERNAL_KEY = "external_network"
INTERNAL_KEY = "internal_network"
INTERNAL_ORG = "internal"
EXTERNAL_ORG = "external"


@dataclass(frozen=True, slots=True)
class LocalNetwork:
    """A local cluster's network choice for external and for internal orgs' work."""

    external: str = NONE
    internal: str = HOST

    def __post_init__(self) -> None:
        for key, value in ((EXTERNAL_KEY, self.external), (INTERNAL_KEY, self.internal)):
            if value not in CHOICES:
                raise ValueError(f"{key} must be none or host, got {value!r}")

    def shares_host(self, org_kind: str) -> bool:
        """Whether work of this kind of org shares the machine's network (else: only its own)."""
        choice = self.internal if org_kind == INTERNAL_ORG else self.external
        return choice == HOST

    @classmethod
    def from_engine_options(cls, options: Mapping[str, str]) -> LocalNetwork:
        """The choice a local cluster's engine_options make (the fleet file checked them)."""
        return cls(
            external=options.get(EXTERNAL_KEY, NONE), internal=options.get(INTERNAL_KEY, HOST)
        )
