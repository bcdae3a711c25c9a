"""Billing events: the org's record of what happened to its money, behind /v1/events."""
