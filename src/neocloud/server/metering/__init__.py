"""Meters, usage events, usage records and summaries, spend so far, and the inputs of rating."""
