"""Billing rules: price book, usage, rating, periods and invoice states (pure core)."""
