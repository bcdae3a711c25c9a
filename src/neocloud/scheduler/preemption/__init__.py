"""Preemption: which running work a job may take GPUs from, and the cheapest sufficient victims.

`victims` (who may be a victim, the order of preference, the choice itself). The search for
victims inside one pass (candidates, hopeless cases, the placement afterwards) is the pass's own
bookkeeping: `scheduler.reclaim`.
"""
