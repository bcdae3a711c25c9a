"""Admission: who may start, in what order, under which limits.

`limits` (quotas, borrowing, reserved contracts, the sellable cap) with `books` (holdings) and
`ranges` (how far holdings may move before a check could change); `ordering` and `fairshare`
(who goes first); `groups` (identical jobs decided at once). The per-type pass that applies them
is `scheduler.typepass`.
"""
