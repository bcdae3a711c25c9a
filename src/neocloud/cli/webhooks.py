"""`neocloud webhooks`: endpoints that receive billing events, signed, with their deliveries."""

from __future__ import annotations

from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import note, print_fields, print_json, print_table
from neocloud.schemas.events import BillingEventType
from neocloud.schemas.webhooks import DeliveryStatus, Webhook, WebhookDelivery

app = typer.Typer(help="Webhook endpoints for billing events.", no_args_is_help=True)

WebhookId = Annotated[str, typer.Argument(metavar="ID", help="Webhook id (whe_…).")]


def _webhook_rows(hooks: list[Webhook]) -> None:
    print_table(
        ["ID", "ORG", "URL", "EVENTS", "STATUS", "CREATED"],
        [
            [
                h.id,
                h.org_id,
                h.url,
                ",".join(h.event_types),
                "enabled" if h.enabled else "deleted",
                h.created_at,
            ]
            for h in hooks
        ],
    )


def _delivery_rows(deliveries: list[WebhookDelivery]) -> None:
    print_table(
        ["ID", "EVENT", "TYPE", "STATUS", "ATTEMPTS", "NEXT ATTEMPT", "DELIVERED", "LAST ERROR"],
        [
            [
                d.id,
                d.event_id,
                d.event_type,
                d.status,
                d.attempts,
                d.next_attempt_at,
                d.delivered_at,
                d.last_error,
            ]
            for d in deliveries
        ],
    )


@app.command("create")
def create(
    ctx: typer.Context,
    url: Annotated[str, typer.Option("--url", help="http(s) URL that receives the POSTs.")],
    events: Annotated[
        list[BillingEventType],
        typer.Option("--event", help="An event type to receive; repeat for several."),
    ],
    org: Annotated[str | None, typer.Option("--org", help="Org id or name (operator).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an endpoint and print its signing secret, once."""
    created = client(ctx).webhooks.create(url, events, org=org)
    if wants_json(ctx, as_json):
        print_json(created)
        return
    print_fields(
        [
            ("id", created.id),
            ("org", created.org_id),
            ("url", created.url),
            ("events", ", ".join(created.event_types)),
            ("secret", created.secret),
        ]
    )
    note("Save the secret now: it signs every delivery and cannot be shown again.")


@app.command("list")
def list_webhooks(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this org's endpoints.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List endpoints (never their secrets)."""
    hooks = list(client(ctx).webhooks.iter(org=org))
    if wants_json(ctx, as_json):
        print_json(hooks)
    else:
        _webhook_rows(hooks)


@app.command("delete")
def delete(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonFlag = False) -> None:
    """Delete an endpoint: nothing more is sent to it, pending deliveries are cancelled."""
    hook = client(ctx).webhooks.delete(webhook_id)
    if wants_json(ctx, as_json):
        print_json(hook)
    else:
        _webhook_rows([hook])


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    webhook_id: WebhookId,
    status: Annotated[
        DeliveryStatus | None, typer.Option("--status", help="Only deliveries in this status.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """An endpoint's deliveries: status, attempts, next attempt and the last error."""
    found = list(client(ctx).webhooks.iter_deliveries(webhook_id, status=status))
    if wants_json(ctx, as_json):
        print_json(found)
    else:
        _delivery_rows(found)


@app.command("test")
def test(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonFlag = False) -> None:
    """Queue a signed `webhook.test` ping; watch it with `neocloud webhooks deliveries ID`."""
    delivery = client(ctx).webhooks.test(webhook_id)
    if wants_json(ctx, as_json):
        print_json(delivery)
        return
    _delivery_rows([delivery])
    note(f"Queued; see `neocloud webhooks deliveries {webhook_id}`.")
