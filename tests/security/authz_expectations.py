"""Who may call each route: the expected outcomes of the authorization matrix.

tests/security/test_authorization_matrix.py calls every (method, path) of the OpenAPI document
as every caller (an org-wide key of each role of org A, the operator, and an owner-role key
scoped to project 1 of org A) against every target (org A's project 1, org A's project 2, org B)
and checks the status against the entry here. A route in OpenAPI without an entry fails the
matrix: add one when you add a route.

An entry is `(METHOD, "/path/{template}"): Rule(needs, scope, params=..., body=...)`:

- `needs`: the permission the caller's role must grant (`Permission.X`), a tuple of
  permissions of which any one suffices, or None when any key will do.
- `scope`, what the route reaches:
  - PUBLIC: nothing of anyone's; no key needed (/healthz).
  - ANY: nothing org-specific (who am I, the catalogue); project-scoped keys may call it.
  - PLATFORM: the platform itself (fleet, prices, margin); project-scoped keys are refused.
  - ORG: one org's data; another org's is 404; project-scoped keys are refused (403).
  - PROJECT: data a project owns (jobs, usage, spend, keys); a project-scoped key reaches its
    own project only (another project's is 404); org-wide keys reach their whole org.
- `params` / `body`: the query and JSON body sent. Strings may name the target: `{org}` (its
  org's name), `{project}` (its project's name); `{operator_org}` is the target org's name for
  the operator and the key is left out for everyone else (routes where only the operator may
  act on behalf of another org); `{now}` is the current time (ISO 8601). Path parameters
  are filled from the target's resources by name: org, job_id, key_id, invoice_id,
  webhook_id, budget_id, event_id, note_id, name (a meter).

Bodies must be valid, so that the permission check, not validation, decides the status. A
route is tried against org B when its path, query or body names something of the target, and
against project 2 as well when it names a project-level thing (a job, a key, `{project}`).

Expected: refused by role -> 403 (or 404 when the target is another org's anyway); another
org's (or, for a project-scoped key, another project's) -> 404; allowed -> any status but 401,
403, 404 and 5xx, and the body names nothing of another org (or another project).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from neocloud.domain.tenancy import Permission

P = Permission


class Scope(StrEnum):
    """What a route reaches (see the module docstring)."""

    PUBLIC = "public"
    ANY = "any"
    PLATFORM = "platform"
    ORG = "org"
    PROJECT = "project"


@dataclass(frozen=True)
class Rule:
    """The permission a route needs, what it reaches, and the request that exercises it."""

    needs: Permission | tuple[Permission, ...] | None
    scope: Scope
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None


ORG = {"org": "{org}"}
JOB = {
    "command": ["true"],
    "tier": "spot",
    "resources": {"gpu_type": "h100", "gpus_per_node": 1},
    "project": "{project}",
    "org": "{operator_org}",
}
PRICE = {
    "gpu_type": "h100",
    "tier": "spot",
    "unit_price": "0.50",
    "effective_from": "2026-01-01T00:00:00Z",
}
WEBHOOK = {
    "url": "https://93.184.216.34/hook",
    "event_types": ["invoice.finalized"],
    "org": "{org}",
}
WEBHOOK_MANAGERS = (P.MANAGE_ORG, P.MANAGE_BILLING)
S = Scope

EXPECTATIONS: dict[tuple[str, str], Rule] = {
    # health
    ("GET", "/healthz"): Rule(None, S.PUBLIC),
    ("GET", "/metrics"): Rule(None, S.PUBLIC),
    # the orgs failing in loops and reports: the operator's all, anyone else's own org's
    ("GET", "/v1/health/orgs"): Rule(None, S.ORG),
    # tenancy
    ("GET", "/v1/me"): Rule(None, S.ANY),
    ("POST", "/v1/orgs"): Rule(P.OPERATE, S.PLATFORM, body={"name": "mx-new", "kind": "external"}),
    ("GET", "/v1/orgs"): Rule(None, S.ORG),
    ("GET", "/v1/orgs/{org}"): Rule(None, S.ORG),
    ("POST", "/v1/orgs/{org}/projects"): Rule(P.MANAGE_ORG, S.ORG, body={"name": "mx-extra"}),
    ("GET", "/v1/orgs/{org}/projects"): Rule(None, S.ORG),
    ("POST", "/v1/orgs/{org}/members"): Rule(
        P.MANAGE_ORG, S.ORG, body={"email": "new@mx.test", "role": "viewer"}
    ),
    ("GET", "/v1/orgs/{org}/members"): Rule(None, S.ORG),
    ("POST", "/v1/keys"): Rule(
        P.MANAGE_ORG,
        S.PROJECT,
        body={"org": "{org}", "name": "mx", "role": "viewer", "project": "{project}"},
    ),
    ("GET", "/v1/keys"): Rule(P.MANAGE_ORG, S.PROJECT, params=ORG),
    ("POST", "/v1/keys/{key_id}/revoke"): Rule(P.MANAGE_ORG, S.PROJECT),
    ("POST", "/v1/keys/{key_id}/rotate"): Rule(P.MANAGE_ORG, S.PROJECT, body={}),
    # fleet and capacity
    ("POST", "/v1/fleet/validate"): Rule(P.OPERATE, S.PLATFORM, body={"yaml": "regions: []"}),
    ("PUT", "/v1/fleet"): Rule(P.OPERATE, S.PLATFORM, body={"yaml": "not: a fleet"}),
    ("GET", "/v1/fleet"): Rule(P.OPERATE, S.PLATFORM),
    ("GET", "/v1/fleet/check"): Rule(P.OPERATE, S.PLATFORM),
    ("GET", "/v1/fleet/nodes"): Rule(P.OPERATE, S.PLATFORM),
    ("GET", "/v1/offerings"): Rule(P.READ, S.ANY),
    ("PUT", "/v1/quotas"): Rule(
        P.OPERATE, S.ORG, body={"org": "{org}", "gpu_type": "h100", "gpus": 8}
    ),
    ("GET", "/v1/quotas"): Rule(P.READ, S.ORG, params=ORG),
    ("PUT", "/v1/sellable-caps"): Rule(
        P.OPERATE, S.PLATFORM, body={"gpu_type": "h100", "fraction": "1"}
    ),
    ("GET", "/v1/economics/cost"): Rule(P.OPERATE, S.PLATFORM, params={"node_model": "hgx-h100-4"}),
    ("GET", "/v1/economics/node-models"): Rule(P.OPERATE, S.PLATFORM),
    ("POST", "/v1/contracts"): Rule(
        P.OPERATE,
        S.ORG,
        body={
            "org": "{org}",
            "gpu_type": "h100",
            "gpus": 1,
            "starts_at": "2027-01-01T00:00:00Z",
            "ends_at": "2027-02-01T00:00:00Z",
            "unit_price": "1.00",
        },
    ),
    ("GET", "/v1/contracts"): Rule(P.READ, S.ORG, params=ORG),
    # jobs
    ("POST", "/v1/jobs"): Rule(P.RUN_JOBS, S.PROJECT, body=JOB),
    ("GET", "/v1/jobs"): Rule(P.READ, S.PROJECT, params=ORG),
    ("GET", "/v1/jobs/{job_id}"): Rule(P.READ, S.PROJECT),
    ("GET", "/v1/jobs/{job_id}/events"): Rule(P.READ, S.PROJECT),
    ("POST", "/v1/jobs/{job_id}/cancel"): Rule(P.RUN_JOBS, S.PROJECT),
    ("GET", "/v1/jobs/{job_id}/logs"): Rule(P.READ, S.PROJECT),
    # usage, prices, invoices, spend, margin
    ("GET", "/v1/usage/records"): Rule(P.READ, S.PROJECT, params=ORG),
    ("GET", "/v1/usage/summary"): Rule(P.READ, S.PROJECT, params=ORG),
    ("PUT", "/v1/prices"): Rule(P.OPERATE, S.PLATFORM, body=PRICE),
    ("GET", "/v1/prices"): Rule(None, S.ANY),
    ("POST", "/v1/invoices/generate"): Rule(
        P.OPERATE, S.ORG, body={"period": "2026-10", "org": "{org}"}
    ),
    ("GET", "/v1/invoices"): Rule(P.READ_BILLING, S.ORG, params=ORG),
    ("GET", "/v1/invoices/{invoice_id}"): Rule(P.READ_BILLING, S.ORG),
    ("POST", "/v1/invoices/{invoice_id}/finalize"): Rule(P.OPERATE, S.ORG),
    ("GET", "/v1/spend"): Rule(
        P.READ_BILLING, S.PROJECT, params={"org": "{org}", "project": "{project}"}
    ),
    ("GET", "/v1/margin"): Rule(P.OPERATE, S.PLATFORM),
    # metering
    ("GET", "/v1/meters"): Rule(P.READ, S.ANY),
    ("GET", "/v1/meters/{name}"): Rule(P.READ, S.ANY),
    ("PUT", "/v1/meters/{name}"): Rule(
        P.OPERATE, S.PLATFORM, body={"aggregation": "sum", "unit": "tokens"}
    ),
    ("POST", "/v1/usage/events"): Rule(
        P.OPERATE,
        S.ORG,
        body={
            "events": [
                {
                    "id": "mx-event-1",
                    "org": "{org}",
                    "meter": "mx_tokens",
                    "value": "1",
                    "time": "{now}",
                }
            ]
        },
    ),
    ("GET", "/v1/usage/events"): Rule(P.READ_BILLING, S.ORG, params=ORG),
    # credits and terms
    ("GET", "/v1/orgs/{org}/billing-terms"): Rule(P.READ_BILLING, S.ORG),
    ("PUT", "/v1/orgs/{org}/billing-terms"): Rule(P.OPERATE, S.ORG, body={"currency": "USD"}),
    ("POST", "/v1/credits/grants"): Rule(
        P.OPERATE, S.ORG, body={"org": "{org}", "kind": "promotional", "amount": "1.00"}
    ),
    ("GET", "/v1/credits"): Rule(P.READ_BILLING, S.ORG, params=ORG),
    ("GET", "/v1/credits/ledger"): Rule(P.READ_BILLING, S.ORG, params=ORG),
    # webhooks: org configuration that exports billing data, for admins and billing alike
    ("POST", "/v1/webhooks"): Rule(WEBHOOK_MANAGERS, S.ORG, body=WEBHOOK),
    ("GET", "/v1/webhooks"): Rule(WEBHOOK_MANAGERS, S.ORG, params=ORG),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Rule(WEBHOOK_MANAGERS, S.ORG),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Rule(WEBHOOK_MANAGERS, S.ORG),
    ("POST", "/v1/webhooks/{webhook_id}/test"): Rule(WEBHOOK_MANAGERS, S.ORG),
    # budgets
    ("POST", "/v1/budgets"): Rule(
        P.MANAGE_BILLING, S.ORG, body={"name": "mx", "amount": "100", "org": "{org}"}
    ),
    ("GET", "/v1/budgets"): Rule(P.READ_BILLING, S.ORG, params=ORG),
    ("GET", "/v1/budgets/{budget_id}"): Rule(P.READ_BILLING, S.ORG),
    ("DELETE", "/v1/budgets/{budget_id}"): Rule(P.MANAGE_BILLING, S.ORG),
    # billing events
    ("GET", "/v1/events"): Rule(P.READ_BILLING, S.ORG, params=ORG),
    ("GET", "/v1/events/{event_id}"): Rule(P.READ_BILLING, S.ORG),
    # invoice documents and credit notes
    ("POST", "/v1/invoices/{invoice_id}/pay"): Rule(P.OPERATE, S.ORG),
    ("POST", "/v1/invoices/{invoice_id}/void"): Rule(P.OPERATE, S.ORG, body={"reason": "mx"}),
    ("POST", "/v1/invoices/{invoice_id}/credit-notes"): Rule(
        P.OPERATE,
        S.ORG,
        body={"reason": "mx", "lines": [{"line": 1, "amount": "0.01", "reason": "mx"}]},
    ),
    ("GET", "/v1/invoices/{invoice_id}/credit-notes"): Rule(P.READ_BILLING, S.ORG),
    ("GET", "/v1/credit-notes/{note_id}"): Rule(P.READ_BILLING, S.ORG),
    ("GET", "/v1/invoices/{invoice_id}/document"): Rule(P.READ_BILLING, S.ORG),
    # audit log: the operator's everything, an owner's or admin's own org
    ("GET", "/v1/audit"): Rule(P.MANAGE_ORG, S.ORG, params=ORG),
    ("GET", "/v1/audit/export"): Rule(P.MANAGE_ORG, S.ORG, params=ORG),
    # exports
    ("GET", "/v1/exports/focus"): Rule(
        P.READ_BILLING, S.ORG, params={"org": "{org}", "period": "2026-11"}
    ),
    ("GET", "/v1/exports/usage.csv"): Rule(
        P.READ_BILLING, S.ORG, params={"org": "{org}", "period": "2026-11"}
    ),
}
