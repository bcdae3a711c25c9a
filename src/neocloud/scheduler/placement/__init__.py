"""Placement: where a job fits, now or at a planned start.

`nodes` (free, held and set-aside GPUs of one type) with `index` (best fit, gangs by domain);
`feasibility` (shapes no fleet could ever hold); `timeline` and `reservation` (EASY backfill:
the planned start of the first job waiting for GPUs); `isolation` (nodes hidden from external
work).
"""
