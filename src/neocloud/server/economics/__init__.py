"""The margin report: revenue, used and idle cost, and gross margin over a window."""
