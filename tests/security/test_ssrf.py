"""Outbound requests cannot be turned inward: in any notation, at registration and at each send."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from neocloud.server.http import outbound
from neocloud.server.http.outbound import OutboundGuard, OutboundRefused, inet_aton, parse_allow
from neocloud.server.webhooks.delivery_loop import WebhookLoop
from tests.api.conftest import Api
from tests.e2e.server import free_port
from tests.webhook_receiver import receiver

# Hosts that name loopback, private, link-local, shared, multicast, reserved or unspecified
# addresses, spelled every way a URL parser, libc or a resolver would accept.
INWARD_URLS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/admin",
    "http://2130706433/",  # decimal
    "http://0177.0.0.1/",  # octal
    "http://0x7f000001/",  # hex
    "http://0x7f.0.0.1/",
    "http://127.1/",  # short form
    "http://127.0.1/",
    "http://017700000001/",  # octal, one part
    "http://127.0.0.1./",  # trailing dot
    "http://localhost/",
    "http://LOCALHOST./",
    "http://LocalHost:9/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://3232235777/",  # 192.168.1.1 in decimal
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://0xa9fea9fe/",  # the same, hex
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://100.64.0.1/",  # shared address space (CGNAT)
    "http://100.127.255.254/",
    "http://224.0.0.1/",  # multicast
    "http://[ff02::1]/",
    "http://240.0.0.1/",  # reserved
    "http://255.255.255.255/",
    "http://192.0.0.8/",
    "http://198.18.0.1/",  # benchmarking
    "http://192.0.2.1/",  # documentation
    "http://[2001:db8::1]/",
    "https://127.0.0.1:443/",
    "HTTP://127.0.0.1/",
    "http://１２７.０.０.１/",  # full-width digits, mapped by IDNA
    "http://127。0。0。1/",  # ideographic full stops
]
# Spellings that parsers disagree about are refused whatever they point at.
MALFORMED_URLS = [
    "http://evil@127.0.0.1/",
    "http://user:pass@hooks.example.com/",
    "http://hooks.example.com@127.0.0.1/",
    "http://127.0.0.1\\@hooks.example.com/",
    "http://hooks.example.com /",
    "ftp://hooks.example.com/",
    "file:///etc/passwd",
    "gopher://127.0.0.1/",
]
PUBLIC_ADDRESSES = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]


class FakeDns:
    """A resolver whose answers the test sets, counting lookups."""

    def __init__(self, answers: dict[str, list[list[str]]] | None = None) -> None:
        # Each name has a list of answers, given in turn (the last one repeats).
        self.answers = answers or {}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise OSError("NXDOMAIN")
        return answers.pop(0) if len(answers) > 1 else answers[0]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    """The resolver every guard uses; `localhost` answers loopback as the system's does."""
    fake = FakeDns({"localhost": [["127.0.0.1", "::1"]]})
    monkeypatch.setattr(outbound, "system_resolve", fake)
    return fake


@pytest.mark.parametrize("url", INWARD_URLS)
def test_inward_hosts_are_refused_in_every_notation(url: str, dns: FakeDns) -> None:
    with pytest.raises(OutboundRefused) as refused:
        OutboundGuard().check(url, unresolved_ok=True)
    assert "address" in refused.value.reason


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_urls_parsers_disagree_on_are_refused(url: str, dns: FakeDns) -> None:
    with pytest.raises(OutboundRefused):
        OutboundGuard().check(url, unresolved_ok=True)


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        (["93.184.216.34"], False),
        (["93.184.216.34", "2606:2800:220:1::"], False),
        (["127.0.0.1"], True),
        (["93.184.216.34", "10.0.0.7"], True),  # one bad address in the answer is enough
        (["2606:2800:220:1::", "::1"], True),
        (["::ffff:169.254.169.254"], True),
        (["100.64.1.1"], True),
        (["0.0.0.0"], True),
    ],
)
def test_a_name_is_refused_if_any_address_it_resolves_to_is_inward(
    dns: FakeDns, answer: list[str], refused: bool
) -> None:
    dns.answers["hooks.example.com"] = [answer]
    guard = OutboundGuard()
    if refused:
        with pytest.raises(OutboundRefused, match="resolves to"):
            guard.check("https://hooks.example.com/x")
    else:
        target = guard.check("https://hooks.example.com/x")
        assert target is not None and target.address == answer[0]


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_may_be_called(address: str, dns: FakeDns) -> None:
    host = f"[{address}]" if ":" in address else address
    target = OutboundGuard().check(f"https://{host}/hook")
    assert target is not None and target.address == address
    assert dns.lookups == []  # a literal address is not resolved


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("10.65535", "10.0.255.255"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("4294967295", "255.255.255.255"),
        ("4294967296", None),
        ("256.0.0.1", None),
        ("1.2.3.4.5", None),
        ("08.0.0.1", None),  # 8 is no octal digit
        ("127..1", None),
        ("hooks.example.com", None),
        ("1e3", None),
        ("", None),
    ],
)
def test_numeric_hosts_are_read_as_inet_aton_reads_them(text: str, expected: str | None) -> None:
    got = inet_aton(text)
    assert (str(got) if got is not None else None) == expected


def test_the_pinned_request_goes_to_the_checked_address_with_the_name_as_host_and_sni(
    dns: FakeDns,
) -> None:
    dns.answers["hooks.example.com"] = [["93.184.216.34"]]
    target = OutboundGuard().check("https://Hooks.Example.com.:8443/path?q=1")
    assert target is not None
    url, headers, extensions = target.pinned()
    assert url == "https://93.184.216.34:8443/path?q=1"
    assert headers == {"Host": "hooks.example.com:8443"}
    assert extensions == {"sni_hostname": "hooks.example.com"}
    v6 = OutboundGuard().check("http://[2606:4700:4700::1111]/")
    assert v6 is not None
    assert v6.pinned() == (
        "http://[2606:4700:4700::1111]:80/",
        {"Host": "[2606:4700:4700::1111]"},
        {},
    )


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["hooks.internal.example:443"], {("hooks.internal.example", 443)}),
        (["Hooks.Internal.Example."], {("hooks.internal.example", None)}),
        (["127.0.0.1:9000", " 10.1.2.3 "], {("127.0.0.1", 9000), ("10.1.2.3", None)}),
        (["2130706433:9000"], {("127.0.0.1", 9000)}),
        (["[::1]:9000"], {("::1", 9000)}),
        ([""], set()),
    ],
)
def test_allow_entries_are_normalised_like_urls(
    entries: list[str], expected: set[tuple[str, int | None]]
) -> None:
    assert parse_allow(entries) == expected


@pytest.mark.parametrize("entry", ["host:99999", "http://host/", "user@host", "host/path"])
def test_a_malformed_allow_entry_is_an_error(entry: str) -> None:
    with pytest.raises(ValueError, match="outbound allow entry"):
        parse_allow([entry])


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:9000/hook", True),
        ("http://2130706433:9000/hook", True),  # the same receiver in another notation
        ("http://127.0.0.1:9001/hook", False),  # another port of it
        ("http://localhost:9000/hook", False),  # another name for it
        ("https://hooks.internal.example/h", True),
        ("https://hooks.internal.example:8443/h", False),
        ("https://other.internal.example/h", False),
    ],
)
def test_only_receivers_the_operator_names_are_allowed_inward(
    dns: FakeDns, url: str, allowed: bool
) -> None:
    dns.answers["hooks.internal.example"] = [["10.0.0.5"]]
    dns.answers["other.internal.example"] = [["10.0.0.6"]]
    guard = OutboundGuard(["127.0.0.1:9000", "hooks.internal.example:443"])
    if allowed:
        assert guard.check(url) is not None
    else:
        with pytest.raises(OutboundRefused):
            guard.check(url)


# -- through the API and the delivery loop ------------------------------------------------------


def test_registration_refuses_every_inward_url_naming_the_url_field(api: Api, dns: FakeDns) -> None:
    acme = api.new_org("acme")
    accepted = []
    for url in INWARD_URLS + MALFORMED_URLS:
        r = acme.post("/v1/webhooks", json={"url": url, "event_types": ["invoice.finalized"]})
        if r.status_code != 422 or r.json()["error"]["details"]["field"] != "url":
            accepted.append((url, r.status_code))
    assert accepted == []
    assert acme.get("/v1/webhooks").json()["items"] == []


def test_registration_refuses_a_name_resolving_inward_and_takes_one_not_resolving_yet(
    api: Api, dns: FakeDns
) -> None:
    acme = api.new_org("acme")
    dns.answers["inward.example.com"] = [["93.184.216.34", "192.168.0.10"]]
    r = acme.post(
        "/v1/webhooks",
        json={"url": "https://inward.example.com/h", "event_types": ["invoice.finalized"]},
    )
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "url: the host resolves to a private address; only public addresses may be called"
    )
    # Not in DNS yet: taken, since every send checks again.
    r = acme.post(
        "/v1/webhooks",
        json={"url": "https://not-yet.example.com/h", "event_types": ["invoice.finalized"]},
    )
    assert r.status_code == 201, r.text


@pytest.fixture
def send_one(api: Api) -> Iterator[Callable[[Any, str], dict[str, Any]]]:
    """Register `url` for the client's org, queue a test ping, run one delivery attempt."""
    loops: list[WebhookLoop] = []

    def run(client: Any, url: str) -> dict[str, Any]:
        r = client.post("/v1/webhooks", json={"url": url, "event_types": ["invoice.finalized"]})
        assert r.status_code == 201, r.text
        hook = r.json()
        client.post(f"/v1/webhooks/{hook['id']}/test")
        loop = WebhookLoop(
            api.ctx.db,
            guard=api.ctx.outbound(),
            secrets=api.ctx.secrets,
            retry_schedule=(),
            timeout_seconds=2,
        )
        loops.append(loop)
        assert loop.deliver_due() == 1
        (delivery,) = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
        return dict(delivery)

    yield run
    for loop in loops:
        loop.stop()


def test_dns_rebinding_after_registration_is_refused_at_send(
    api: Api, dns: FakeDns, send_one: Callable[[Any, str], dict[str, Any]]
) -> None:
    acme = api.new_org("acme")
    port = free_port()
    # Public when the endpoint is registered, loopback when the delivery is sent.
    dns.answers["rebind.example.com"] = [["93.184.216.34"], ["127.0.0.1"]]
    with receiver(port=port) as rx:
        delivery = send_one(acme, f"http://rebind.example.com:{port}/hook")
    assert rx.received == []
    assert delivery["status"] == "failed"
    assert delivery["last_error"] == (
        "refused: the host resolves to a loopback address; only public addresses may be called"
    )


def test_a_send_resolves_once_and_connects_to_that_address_with_the_name_as_host(
    api: Api, dns: FakeDns, send_one: Callable[[Any, str], dict[str, Any]]
) -> None:
    acme = api.new_org("acme")
    port = free_port()
    api.ctx.settings.outbound_allow = (f"hooks.internal.example:{port}",)
    # The first answer is the checked one; had the client resolved again it would get the second.
    dns.answers["hooks.internal.example"] = [["127.0.0.1"], ["127.0.0.1"], ["10.9.9.9"]]
    with receiver(port=port) as rx:
        delivery = send_one(acme, f"http://hooks.internal.example:{port}/hook")
    assert delivery["status"] == "delivered", delivery
    (got,) = rx.received
    assert got.headers["host"] == f"hooks.internal.example:{port}"
    assert dns.lookups == ["hooks.internal.example"] * 2  # once at registration, once at send


def test_a_name_that_stops_resolving_fails_the_send(
    api: Api, dns: FakeDns, send_one: Callable[[Any, str], dict[str, Any]]
) -> None:
    acme = api.new_org("acme")
    delivery = send_one(acme, "https://gone.example.com/hook")
    assert delivery["last_error"] == "refused: the host name does not resolve"


def test_redirects_are_not_followed_and_answers_never_reach_last_error(
    api: Api, dns: FakeDns, send_one: Callable[[Any, str], dict[str, Any]]
) -> None:
    acme = api.new_org("acme")
    port = free_port()
    api.ctx.settings.outbound_allow = (f"127.0.0.1:{port}",)
    with receiver([302], port=port) as rx:
        delivery = send_one(acme, f"http://127.0.0.1:{port}/hook")
    assert len(rx.received) == 1
    assert delivery["last_error"] == "HTTP 302: redirects are not followed"
    assert "receiver says no" not in delivery["last_error"]


def test_an_allowed_receiver_is_refused_again_once_the_operator_drops_it(
    api: Api, dns: FakeDns, send_one: Callable[[Any, str], dict[str, Any]]
) -> None:
    acme = api.new_org("acme")
    port = free_port()
    api.ctx.settings.outbound_allow = (f"127.0.0.1:{port}",)
    r = acme.post(
        "/v1/webhooks",
        json={"url": f"http://127.0.0.1:{port}/h", "event_types": ["invoice.finalized"]},
    )
    assert r.status_code == 201
    api.ctx.settings.outbound_allow = ()
    with receiver(port=port) as rx:
        hook = r.json()
        acme.post(f"/v1/webhooks/{hook['id']}/test")
        loop = WebhookLoop(api.ctx.db, guard=api.ctx.outbound(), secrets=api.ctx.secrets)
        try:
            loop.deliver_due()
        finally:
            loop.stop()
    assert rx.received == []


def test_every_inward_address_class_is_classified_by_forbidden_reason() -> None:
    # One representative per class, so a change in Python's tables shows up here.
    expected = {
        "127.0.0.1": "a loopback address",
        "10.0.0.1": "a private address",
        "169.254.1.1": "a link-local address",
        "100.64.0.1": "a shared (CGNAT) address",
        "224.0.0.1": "a multicast address",
        "0.0.0.0": "the unspecified address",
        "::1": "a loopback address",
        "fe80::1": "a link-local address",
        "2002:a00:1::": "an IPv6 address embedding a private address",
        "93.184.216.34": None,
    }
    got = {a: outbound.forbidden_reason(ipaddress.ip_address(a)) for a in expected}
    assert got == expected
