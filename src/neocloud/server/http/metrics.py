"""Prometheus metrics of the control plane."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "neocloud_http_requests_total",
    "HTTP requests",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LOOP_SECONDS = Histogram(
    "neocloud_control_loop_seconds", "Duration of one control-loop tick", registry=REGISTRY
)
LOOP_ERRORS = Counter("neocloud_control_loop_errors_total", "Failed ticks", registry=REGISTRY)
PREEMPTIONS = Counter("neocloud_preemptions_total", "Jobs preempted", registry=REGISTRY)
JOBS = Gauge("neocloud_jobs", "Jobs by state", ["state"], registry=REGISTRY)
GPUS_ALLOCATED = Gauge("neocloud_gpus_allocated", "GPUs held by jobs", registry=REGISTRY)
REQUEST_SECONDS = Histogram(
    "neocloud_http_request_seconds", "HTTP request latency", ["method", "route"], registry=REGISTRY
)
