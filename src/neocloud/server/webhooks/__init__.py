"""Webhook endpoints and the delivery loop that signs, sends and retries events to them."""
