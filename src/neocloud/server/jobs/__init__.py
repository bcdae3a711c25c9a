"""Jobs: submission, lifecycle, logs, cancel, and the control loop that schedules, launches,
reconciles, drains and stops them when credit runs out.
"""
