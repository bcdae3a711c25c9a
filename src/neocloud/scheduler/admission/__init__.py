"""Admission: who may start, in what order, under which limits, and the per-type pass.

`limits` (quotas, borrowing, reserved contracts, the sellable cap) with `books` (holdings) and
`ranges` (how far holdings may move before a check could change); `ordering` and `fairshare`
(who goes first); `groups` (identical jobs decided at once); `typepass` (one pass over one GPU
type) with `passrecord` (what the pass decided, for its end) and `arrivals` (new jobs alone).
"""
