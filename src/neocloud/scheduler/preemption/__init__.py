"""Preemption: which running work a job may take GPUs from, and the cheapest sufficient victims.

`victims` (who may be a victim, the order of preference, the choice itself) and `reclaim` (the
bookkeeping around it inside one pass: candidates, hopeless cases, the placement afterwards).
"""
