"""The one guard every outbound request goes through, so a customer's URL cannot reach inward.

A URL is checked, then sent to the very address that was checked:
- the host is normalised (letter case, trailing dot, IDNA) and a numeric host is read the way
  libc's inet_aton reads it (`2130706433`, `0x7f.1`, `0177.0.0.1` and `127.1` are all 127.0.0.1);
- a name is resolved once and every address of the answer must be public: one loopback,
  private, link-local, shared (100.64/10), multicast, reserved or unspecified address refuses the
  URL, as does an IPv6 address that embeds such an IPv4 address (mapped, compatible, 6to4,
  Teredo, NAT64);
- the request goes to the checked address with the original name in the Host header and as the TLS
  server name (so certificates are verified against the name), with no proxy from the environment,
  no redirects followed and no pooled connection reused, so DNS rebinding gains nothing.
Operators may allow named internal receivers (`host[:port]` entries, compared after normalising);
those skip the address check, nothing else.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
DEFAULT_PORTS = {"http": 80, "https": 443}
SHARED = ipaddress.ip_network("100.64.0.0/10")
# IANA's special-purpose blocks, named here too so an older Python's tables cannot miss one.
SPECIAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
    )
)
# NAT64 prefixes carry an IPv4 address in their last 32 bits (RFC 6052, RFC 8215).
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class OutboundRefused(Exception):
    """The URL may not be called; `reason` is a fixed sentence safe to show its owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver answers for `host` (TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """`text` read as libc's inet_aton reads it (1 to 4 parts, decimal, 0octal or 0xhex), or None.

    The last part fills the bytes the earlier parts left: `127.1` is 127.0.0.1, `2130706433` too.
    """
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        lower = part.lower()
        try:
            if lower.startswith("0x"):
                value = int(lower[2:], 16) if len(lower) > 2 else 0
            elif len(lower) > 1 and lower.startswith("0"):
                value = int(lower[1:], 8)
            else:
                value = int(lower, 10) if lower.isdigit() else -1
        except ValueError:
            return None
        if value < 0:
            return None
        values.append(value)
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (4 - len(leading)):
        return None
    number = last
    for i, v in enumerate(leading):
        number += v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def normalise_host(host: str) -> str:
    """Lower case, no trailing dot, IDNA (ASCII) form; numeric hosts in their canonical form."""
    host = host.strip().rstrip(".").lower()
    if ":" in host:
        literal = parse_address(host)
        return str(literal)
    try:
        # IDNA first: it maps full-width digits and dots, so those spell numeric hosts too.
        ascii_host = host.encode("idna").decode("ascii").rstrip(".").lower()
    except UnicodeError:
        raise OutboundRefused("the host name is not a valid (IDNA) name") from None
    if not ascii_host:
        raise OutboundRefused("the URL names no host")
    literal = inet_aton(ascii_host)
    return str(literal) if literal is not None else ascii_host


def parse_address(host: str) -> IPAddress | None:
    """The address a numeric host stands for (any inet_aton IPv4 notation, or IPv6), else None."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise OutboundRefused("the host is not a valid IPv6 address") from None
    return inet_aton(host)


def _embedded_v4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if any(addr in net for net in NAT64):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if int(addr) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (deprecated, still routed by some)
        return ipaddress.IPv4Address(int(addr))
    return None


def forbidden_reason(addr: IPAddress) -> str | None:
    """Why this address may not be called (a short fixed phrase), or None if it is public."""
    checks: tuple[tuple[bool, str], ...] = (
        (addr.is_unspecified, "the unspecified address"),
        (addr.is_loopback, "a loopback address"),
        (addr.is_link_local, "a link-local address"),
        (addr.is_multicast, "a multicast address"),
        (isinstance(addr, ipaddress.IPv4Address) and addr in SHARED, "a shared (CGNAT) address"),
        (addr.is_private, "a private address"),
        (addr.is_reserved, "a reserved address"),
        (any(addr in net for net in SPECIAL), "a special-purpose address"),
        (not addr.is_global, "a non-public address"),
    )
    for hit, why in checks:
        if hit:
            return why
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_v4(addr)
        if inner is not None:
            inner_why = forbidden_reason(inner)
            if inner_why is not None:
                return f"an IPv6 address embedding {inner_why}"
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: its normalised host and port, and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    def pinned(self) -> tuple[str, dict[str, str], dict[str, str]]:
        """URL rewritten to the checked address, the Host header, and the TLS server name."""
        parts = urlsplit(self.url)
        shown = f"[{self.address}]" if ":" in self.address else self.address
        url = urlunsplit((parts.scheme, f"{shown}:{self.port}", parts.path, parts.query, ""))
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        default = self.port == DEFAULT_PORTS[self.scheme]
        host_header = shown_host if default else f"{shown_host}:{self.port}"
        extensions = {"sni_hostname": self.host} if self.scheme == "https" else {}
        return url, {"Host": host_header}, extensions


def parse_allow(entries: Iterable[str]) -> frozenset[tuple[str, int | None]]:
    """`host[:port]` entries (IPv6 in brackets) as (normalised host, port or None for any port)."""
    allowed: set[tuple[str, int | None]] = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        parts = urlsplit(f"//{entry}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"outbound allow entry {entry!r}: bad port") from None
        if not parts.hostname or parts.username or parts.path:
            raise ValueError(f"outbound allow entry {entry!r}: expected host[:port]")
        allowed.add((normalise_host(parts.hostname), port))
    return frozenset(allowed)


class OutboundGuard:
    """Checks URLs against the rules and the operator's allow-list, and sends pinned requests."""

    def __init__(self, allow: Iterable[str] = (), resolve: Resolver | None = None) -> None:
        self.allow = parse_allow(allow)
        # Looked up at call time, so tests can replace the module's resolver.
        self._resolve = resolve

    def resolve(self, host: str, port: int) -> list[str]:
        """The host's addresses (the injected resolver, else the system's)."""
        return (self._resolve or system_resolve)(host, port)

    def allowed(self, host: str, port: int) -> bool:
        """True if the operator allowed this host (on this port, or on any)."""
        return (host, port) in self.allow or (host, None) in self.allow

    def parse(self, url: str) -> tuple[str, str, int]:
        """Scheme, normalised host and port of an http(s) URL, refusing what parsers disagree on."""
        if any(c in url for c in "\\\t\r\n ") or not url.isprintable():
            raise OutboundRefused("the URL contains whitespace, control characters or '\\'")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise OutboundRefused("the URL is malformed") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise OutboundRefused("only http and https URLs may be called")
        if "@" in parts.netloc:
            raise OutboundRefused("the URL may not carry a user name or password")
        if not parts.hostname:
            raise OutboundRefused("the URL names no host")
        return scheme, normalise_host(parts.hostname), port or DEFAULT_PORTS[scheme]

    def check(self, url: str, *, unresolved_ok: bool = False) -> Target | None:
        """The target to connect to, or raise OutboundRefused.

        `unresolved_ok`: a name that does not resolve (yet) passes, returning None; used when an
        endpoint is registered, since every send checks again.
        """
        scheme, host, port = self.parse(url)
        literal = parse_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = [
                    ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolve(host, port)
                ]
            except (OSError, UnicodeError, ValueError):
                addresses = []
            if not addresses:
                if unresolved_ok:
                    return None
                raise OutboundRefused("the host name does not resolve")
        if not self.allowed(host, port):
            for addr in addresses:
                why = forbidden_reason(addr)
                if why is not None:
                    verb = "is" if literal is not None else "resolves to"
                    raise OutboundRefused(
                        f"the host {verb} {why}; only public addresses may be called"
                    )
        return Target(url, scheme, host, port, str(addresses[0]))

    def post(
        self,
        client: httpx.Client,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        """Check `url` now and POST to the address that was checked (raises OutboundRefused)."""
        target = self.check(url)
        assert target is not None
        pinned_url, host_header, extensions = target.pinned()
        return client.post(
            pinned_url,
            content=content,
            headers={**headers, **host_header},
            extensions=extensions,
        )


def outbound_client(timeout: float, user_agent: str) -> httpx.Client:
    """An HTTP client fit for guarded requests: no redirects, no proxies, no pooled connections."""
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        # A pooled TLS connection is keyed by address only: reusing it for another name would
        # skip that name's certificate check.
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"User-Agent": user_agent},
    )
