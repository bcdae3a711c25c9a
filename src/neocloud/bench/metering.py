"""`neocloud bench metering`: usage events through the real HTTP API into each database.

For each backend a real control plane is started as its own process (PostgreSQL: a scratch
database created on the server named by NEOCLOUD_BENCH_DATABASE_URL and dropped afterwards;
SQLite: a file in a temporary directory). The benchmark creates the orgs and meters, then sends
the events in batches (a tenth of them repeats of ids already sent, within a batch or across
batches) from a few concurrent connections, and finally drafts the invoices of every org for
the period.

Figures per backend:
- ingest_events_per_s: events sent (duplicates included) per second of wall time from the first
  batch sent to the last answer received; request bodies are encoded before the clock starts;
- duplicates_sent / duplicates_counted: what was repeated, and what the API reported as
  duplicates (they must be equal: the benchmark is also a check);
- accepted: events the API stored; invoice_run_s: one `invoices generate` over every org.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
METERS = {
    "input_tokens": {"aggregation": "sum", "unit": "token", "group_by": ["model"]},
    "output_tokens": {"aggregation": "sum", "unit": "token", "group_by": ["model"]},
}
# Per-token list prices (a graduated charge for output: the first million tokens cheaper).
PRICES: dict[str, dict[str, Any]] = {
    "input_tokens": {"unit_price": "0.000002"},
    "output_tokens": {
        "unit_price": "0.000004",
        "charge": {
            "model": "graduated",
            "tiers": [
                {"up_to": "1000000", "unit_price": "0.000004"},
                {"up_to": None, "unit_price": "0.000003"},
            ],
        },
    },
}
MODELS = ("llama-70b", "llama-8b", "mixtral-8x7b")
SENDERS = 4
Progress = Callable[[str, int, int], None]


def run(
    events: int = 1_000_000,
    orgs: int = 1_000,
    batch_size: int = 1_000,
    duplicate_fraction: float = 0.1,
    seed: int = 1,
    backends: tuple[str, ...] = ("postgresql", "sqlite"),
    database_url: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the benchmark on each backend and return {backend: figures}."""
    if events < 1 or orgs < 1 or not 1 <= batch_size <= 10_000:
        raise ValueError("events and orgs must be >= 1, batch size 1 to 10,000")
    if not 0 <= duplicate_fraction < 1:
        raise ValueError("duplicate fraction must be in [0, 1)")
    admin = database_url or os.environ.get("NEOCLOUD_BENCH_DATABASE_URL") or DEFAULT_PG
    out: dict[str, Any] = {}
    for backend in backends:
        with _database(backend, admin) as (url, data_dir):
            out[backend] = _one(
                url, data_dir, events, orgs, batch_size, duplicate_fraction, seed, progress
            )
    return out


def _one(
    url: str,
    data_dir: Path,
    events: int,
    orgs: int,
    batch_size: int,
    duplicate_fraction: float,
    seed: int,
    progress: Progress | None,
) -> dict[str, Any]:
    with _server(url, data_dir) as (base, key):
        http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600)
        names = [f"bench-{i:05d}" for i in range(orgs)]
        _setup(http, names)
        now = datetime.now(UTC)
        bodies, duplicates_sent = _batches(names, events, batch_size, duplicate_fraction, seed, now)
        counted = {"accepted": 0, "duplicates": 0, "done": 0}
        lock = threading.Lock()

        def send(body: bytes) -> None:
            r = http.post(
                "/v1/usage/events", content=body, headers={"Content-Type": "application/json"}
            )
            if r.status_code != 200:
                raise RuntimeError(f"batch refused ({r.status_code}): {r.text[:500]}")
            answer = r.json()
            with lock:
                counted["accepted"] += answer["accepted"]
                counted["duplicates"] += answer["duplicates"]
                counted["done"] += 1
                done = counted["done"]
            if progress is not None and done % 20 == 0:
                progress("ingest", done, len(bodies))

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            list(pool.map(send, bodies))
        ingest_s = time.perf_counter() - began
        period = f"{now.year:04d}-{now.month:02d}"
        began = time.perf_counter()
        r = http.post("/v1/invoices/generate", json={"period": period})
        if r.status_code != 200:
            raise RuntimeError(f"invoice run failed ({r.status_code}): {r.text[:500]}")
        invoice_run_s = time.perf_counter() - began
        invoices = len(r.json())
        http.close()
    return {
        "events_sent": events,
        "batches": len(bodies),
        "orgs": orgs,
        "ingest_s": round(ingest_s, 3),
        "ingest_events_per_s": round(events / ingest_s, 1),
        "accepted": counted["accepted"],
        "duplicates_sent": duplicates_sent,
        "duplicates_counted": counted["duplicates"],
        "invoice_run_s": round(invoice_run_s, 3),
        "invoices": invoices,
    }


def _setup(http: httpx.Client, names: list[str]) -> None:
    """Orgs, meters and a price per meter, through the API like any operator would."""
    for name in names:
        r = http.post("/v1/orgs", json={"name": name, "kind": "external"})
        if r.status_code != 201:
            raise RuntimeError(f"could not create org {name}: {r.text}")
    since = (datetime.now(UTC) - timedelta(days=62)).isoformat()
    for meter, body in METERS.items():
        http.put(f"/v1/meters/{meter}", json=body).raise_for_status()
        price = {"meter": meter, "tier": "on_demand", "effective_from": since, **PRICES[meter]}
        http.put("/v1/prices", json=price).raise_for_status()


def _batches(
    names: list[str],
    events: int,
    batch_size: int,
    duplicate_fraction: float,
    seed: int,
    now: datetime,
) -> tuple[list[bytes], int]:
    """Encoded request bodies; every duplicate repeats an (org, id) already sent, exactly."""
    rng = random.Random(seed)
    sent: list[dict[str, Any]] = []
    bodies: list[bytes] = []
    duplicates = 0
    # Times within the current period so far, so every event lands in the period invoiced.
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    span = max(1.0, min((now - month_start).total_seconds() - 60, 6 * 3600.0))
    batch: list[dict[str, Any]] = []
    for n in range(events):
        if sent and rng.random() < duplicate_fraction:
            event = rng.choice(sent)
            duplicates += 1
        else:
            at = now - timedelta(seconds=60 + rng.random() * span)
            event = {
                "id": f"ev-{n}",
                "org": rng.choice(names),
                "meter": rng.choice(tuple(METERS)),
                "value": str(rng.randint(1, 4_000)),
                "time": at.isoformat(),
                "dimensions": {"model": rng.choice(MODELS)},
            }
            sent.append(event)
        batch.append(event)
        if len(batch) == batch_size:
            bodies.append(json.dumps({"events": batch}).encode())
            batch = []
    if batch:
        bodies.append(json.dumps({"events": batch}).encode())
    return bodies, duplicates


@contextmanager
def _database(backend: str, admin_url: str) -> Iterator[tuple[str, Path]]:
    """A fresh database for one run: a scratch PostgreSQL database, or a SQLite file."""
    with tempfile.TemporaryDirectory(prefix=f"neocloud-bench-{backend}-") as tmp:
        data_dir = Path(tmp)
        if backend == "sqlite":
            yield f"sqlite:///{data_dir / 'neocloud.db'}", data_dir
            return
        if backend != "postgresql":
            raise ValueError(f"unknown backend {backend!r}: postgresql or sqlite")
        admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
        name = f"neocloud_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            base = admin.rsplit("/", 1)[0]
            yield f"postgresql+psycopg://{base.removeprefix('postgresql://')}/{name}", data_dir
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _server(database_url: str, data_dir: Path) -> Iterator[tuple[str, str]]:
    """The control plane as its own process on a free port; yields its URL and operator key."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [sys.executable, "-m", "neocloud.server", "--port", str(port)]
    cmd += ["--data-dir", str(data_dir)]
    env = {**os.environ, "NEOCLOUD_DATABASE_URL": database_url}
    log = (data_dir / "server.log").open("a")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, start_new_session=True
    )
    try:
        key = _operator_key(proc, data_dir)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the benchmark's server did not become healthy")
        yield base, key
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _operator_key(proc: subprocess.Popen[str], data_dir: Path) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"NEOCLOUD_API_KEY=(\S+)", line)
        if found:
            # Keep reading what the server prints so a full pipe can never stall it.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return found.group(1)
    raise RuntimeError(f"server exited early: {(data_dir / 'server.log').read_text()[-2000:]}")
