"""Margin at risk: a Monte Carlo of the selling business's gross margin under plausible futures."""
