"""Gross margin: capacity with its costs, idle cost shared out, the price guide."""
