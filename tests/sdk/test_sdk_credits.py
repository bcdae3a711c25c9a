"""Credits, billing terms and meter prices with charges: routes, bodies, exact money, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from neocloud.schemas.billing import ChargeIn, Price, PriceTierIn
from neocloud.schemas.credits import BillingTerms, CreditStatus, Grant, LedgerPosting
from neocloud.sdk.errors import NeocloudError
from tests.sdk import sdk_samples as s
from tests.sdk.api_double import Api

T = datetime(2026, 11, 1, tzinfo=UTC)

# --- grants ---------------------------------------------------------------------------------


def test_grant_posts_the_body_with_its_idempotency_key(api: Api) -> None:
    api.on("POST", "/v1/credits/grants", s.grant(kind="promotional"), status=201)
    # An expiry in another timezone goes out as the same instant in UTC.
    expires = datetime(2027, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))

    granted = api.client().credits.grant(
        "acme",
        Decimal("10.00"),
        kind="promotional",
        expires_at=expires,
        priority=5,
        description="welcome",
        idempotency_key="grant-acme-1",
    )

    assert isinstance(granted, Grant)
    sent = api.requests[-1]
    assert (sent.method, sent.url.path) == ("POST", "/v1/credits/grants")
    assert sent.headers["Idempotency-Key"] == "grant-acme-1"
    body = api.last_json()
    assert datetime.fromisoformat(body.pop("expires_at")) == datetime(2027, 1, 1, tzinfo=UTC)
    assert body == {
        "org": "acme",
        "kind": "promotional",
        "amount": "10.00",
        "currency": "USD",
        "priority": 5,
        "description": "welcome",
    }


def test_grant_amounts_stay_exact_both_ways(api: Api) -> None:
    api.on("POST", "/v1/credits/grants", s.grant(amount="100.10", remaining="100.10"), status=201)

    granted = api.client().credits.grant("acme", "100.10", kind="prepaid")

    assert api.last_json()["amount"] == "100.10"
    assert granted.amount == granted.remaining == Decimal("100.10")
    assert str(granted.amount) == "100.10"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"kind": "gift"}, "kind"),
        ({"currency": "usd"}, "currency"),
        ({"priority": 1001}, "priority"),
        ({"description": "x" * 301}, "description"),
        # A naive datetime is refused: an expiry must say which midnight it means.
        ({"expires_at": datetime.fromisoformat("2027-01-01T00:00:00")}, "expires_at"),
    ],
)
def test_a_bad_grant_is_refused_before_sending(api: Api, over: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"amount": "10", "kind": "prepaid"} | over
    amount = args.pop("amount")

    with pytest.raises(NeocloudError) as caught:
        api.client().credits.grant("acme", amount, **args)

    assert (caught.value.status, caught.value.code) == (422, "invalid_request")
    assert caught.value.details["field"] == field
    assert api.requests == []


def test_a_float_amount_is_a_type_error(api: Api) -> None:
    with pytest.raises(TypeError, match="amount must be a Decimal"):
        api.client().credits.grant("acme", 10.1, kind="prepaid")  # type: ignore[arg-type]
    assert api.requests == []


def test_the_servers_refusal_of_a_grant_is_raised(api: Api) -> None:
    error = {
        "code": "invalid_request",
        "message": "org: credits are for external orgs; internal orgs are shown cost",
        "details": {"field": "org"},
    }
    api.on("POST", "/v1/credits/grants", {"error": error}, status=422)

    with pytest.raises(NeocloudError) as caught:
        api.client().credits.grant("research", "10", kind="prepaid")

    assert caught.value.details == {"field": "org"}
    assert caught.value.message.startswith("org: credits are for external orgs")


# --- status and ledger ----------------------------------------------------------------------


@pytest.mark.parametrize(("org", "query"), [(None, {}), ("acme", {"org": "acme"})])
def test_status_for_own_or_named_org(api: Api, org: str | None, query: dict[str, str]) -> None:
    api.on("GET", "/v1/credits", s.credit_status())

    status = api.client().credits.status(org)

    assert isinstance(status, CreditStatus)
    assert dict(api.requests[-1].url.params) == query
    assert [g.id for g in status.grants] == ["grt_2", "grt_1"]
    assert status.headroom == Decimal("109.75")
    assert str(status.available_credit) == "35.50"


def test_a_postpaid_org_has_no_limit_and_no_headroom(api: Api) -> None:
    api.on("GET", "/v1/credits", s.credit_status(credit_limit=None, headroom=None))

    status = api.client().credits.status("acme")

    assert status.credit_limit is None and status.headroom is None


def test_ledger_lists_postings(api: Api) -> None:
    api.on(
        "GET",
        "/v1/credits/ledger",
        [s.ledger_posting(), s.ledger_posting(account="cash", amount="-10.00")],
    )

    postings = api.client().credits.ledger("acme")

    assert all(isinstance(p, LedgerPosting) for p in postings)
    assert sum(p.amount for p in postings) == 0
    assert dict(api.requests[-1].url.params) == {"org": "acme"}


# --- billing terms --------------------------------------------------------------------------


def test_billing_terms_get(api: Api) -> None:
    api.on("GET", "/v1/orgs/acme/billing-terms", s.billing_terms())

    terms = api.client().orgs.billing_terms("acme")

    assert isinstance(terms, BillingTerms)
    assert terms.credit_limit == Decimal("0.00")
    assert str(terms.minimum_spend) == "500.00"


def test_the_org_is_one_path_segment(api: Api) -> None:
    api.on("GET", "/v1/orgs/a/b/billing-terms", s.billing_terms())

    api.client().orgs.billing_terms("a/b")

    assert api.requests[-1].url.raw_path == b"/v1/orgs/a%2Fb/billing-terms"


def test_set_billing_terms_puts_every_field_it_is_given(api: Api) -> None:
    api.on("PUT", "/v1/orgs/acme/billing-terms", s.billing_terms())

    terms = api.client().orgs.set_billing_terms(
        "acme",
        currency="EUR",
        discount_percent="12.5",
        minimum_spend=Decimal("500.00"),
        tax_rate="0.2",
        credit_limit=0,
        stop_grace_seconds=60,
    )

    assert isinstance(terms, BillingTerms)
    assert api.last_json() == {
        "currency": "EUR",
        "discount_percent": "12.5",
        "minimum_spend": "500.00",
        "tax_rate": "0.2",
        "credit_limit": "0",
        "stop_grace_seconds": 60,
    }


def test_set_billing_terms_replaces_whole_terms_what_is_left_out_takes_defaults(api: Api) -> None:
    api.on("PUT", "/v1/orgs/acme/billing-terms", s.billing_terms(credit_limit=None))

    api.client().orgs.set_billing_terms("acme", tax_rate="0.2")

    # No credit_limit on the wire: the server stores its default, null (postpaid).
    assert api.last_json() == {
        "currency": "USD",
        "discount_percent": "0",
        "minimum_spend": "0",
        "tax_rate": "0.2",
        "stop_grace_seconds": 300,
    }


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"discount_percent": "101"}, "discount_percent"),
        ({"tax_rate": "1.5"}, "tax_rate"),
        ({"minimum_spend": "-1"}, "minimum_spend"),
        ({"credit_limit": "0.001"}, "credit_limit"),
        ({"stop_grace_seconds": -1}, "stop_grace_seconds"),
        ({"currency": "EURO"}, "currency"),
    ],
)
def test_bad_terms_are_refused_before_sending(api: Api, over: dict[str, Any], field: str) -> None:
    with pytest.raises(NeocloudError) as caught:
        api.client().orgs.set_billing_terms("acme", **over)

    assert caught.value.details["field"] == field
    assert api.requests == []


def test_float_terms_are_a_type_error(api: Api) -> None:
    with pytest.raises(TypeError, match="tax_rate must be a Decimal"):
        api.client().orgs.set_billing_terms("acme", tax_rate=0.2)  # type: ignore[arg-type]


# --- prices with a meter and a charge -------------------------------------------------------

WIRE_CHARGE = {
    "model": "graduated",
    "tiers": [
        {"up_to": "1000000", "unit_price": "0", "flat_fee": "0"},
        {"unit_price": "0.000002", "flat_fee": "0"},
    ],
}


@pytest.mark.parametrize(
    "charge",
    [
        ChargeIn(
            model="graduated",
            tiers=[
                PriceTierIn(up_to=Decimal(1_000_000), unit_price=Decimal(0)),
                PriceTierIn(unit_price=Decimal("0.000002")),
            ],
        ),
        {
            "model": "graduated",
            "tiers": [{"up_to": 1_000_000, "unit_price": 0}, {"unit_price": "0.000002"}],
        },
    ],
    ids=["model", "mapping"],
)
def test_price_set_sends_the_meter_and_the_charge(api: Api, charge: Any) -> None:
    api.on(
        "PUT",
        "/v1/prices",
        s.price(meter="input_tokens", gpu_type="", unit_price="0", charge=s.token_charge()),
    )

    price = api.client().prices.set(
        "", "on_demand", "0", meter="input_tokens", charge=charge, effective_from=T
    )

    assert isinstance(price, Price)
    assert price.charge is not None and price.charge.tiers[1].unit_price == Decimal("0.000002")
    assert api.last_json() == {
        "meter": "input_tokens",
        "gpu_type": "",
        "tier": "on_demand",
        "unit_price": "0",
        "charge": WIRE_CHARGE,
        "currency": "USD",
        "effective_from": "2026-11-01T00:00:00Z",
    }


def test_a_gpu_price_without_a_meter_is_for_gpu_time(api: Api) -> None:
    api.on("PUT", "/v1/prices", s.price())

    api.client().prices.set("h100", "spot", "1.10", effective_from=T)

    assert api.last_json()["meter"] == "gpu_seconds"
    assert "charge" not in api.last_json()


def test_a_float_anywhere_in_a_charge_is_a_type_error(api: Api) -> None:
    charge = {"model": "graduated", "tiers": [{"up_to": 10, "unit_price": 0.1}, {"unit_price": 0}]}

    with pytest.raises(TypeError, match=r"charge\.tiers\[0\]\.unit_price must be a Decimal"):
        api.client().prices.set("", "on_demand", "0", meter="input_tokens", charge=charge)
    assert api.requests == []


@pytest.mark.parametrize(
    ("charge", "field"),
    [
        ({"model": "stepped"}, "charge.model"),
        ({"model": "graduated", "tiers": [{"unit_price": "-1"}]}, "charge.tiers.0.unit_price"),
        ({"model": "package", "package_size": "0", "package_price": "2"}, "charge.package_size"),
        ({"model": "per_unit", "colour": "red"}, "charge.colour"),
    ],
)
def test_a_malformed_charge_is_refused_before_sending(
    api: Api, charge: dict[str, Any], field: str
) -> None:
    with pytest.raises(NeocloudError) as caught:
        api.client().prices.set("", "on_demand", "0", meter="input_tokens", charge=charge)

    assert caught.value.details["field"] == field
    assert api.requests == []


def test_a_bad_meter_name_is_refused_before_sending(api: Api) -> None:
    with pytest.raises(NeocloudError) as caught:
        api.client().prices.set("", "on_demand", "1", meter="Input-Tokens")

    assert caught.value.details["field"] == "meter"
    assert api.requests == []
