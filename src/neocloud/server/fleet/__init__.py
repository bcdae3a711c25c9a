"""Nodes, GPU types, quotas, prices, reserved contracts and what the fleet costs."""
