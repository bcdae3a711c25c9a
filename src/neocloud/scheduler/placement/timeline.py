"""When GPUs of one type will be free, by running jobs' max runtimes: planned starts for backfill.

For every node and every count g, `ready[g, node]` is the earliest time the node will have g GPUs
available if every running job ends at started_at + max_runtime_seconds (−inf: already; +inf:
never). A job of k nodes × g GPUs can start at the k-th smallest of ready[g] over the nodes, and
in one topology domain at the k-th smallest inside that domain; the plan prefers a domain when it
is not later.

Approximations, kept on the safe side: jobs are assumed to end exactly at their max runtime
(they often end earlier, which only brings the planned start forward); GPUs of preempted jobs
still exiting are never counted as coming free (they are promised to the job that preempted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

INF = float("inf")


@dataclass(frozen=True, slots=True)
class Plan:
    """A planned start: when, and on which nodes."""

    start: float
    nodes: tuple[int, ...]


class Timeline:
    """Ready times per node and GPU count for the nodes of one type (numbered canonically)."""

    def __init__(self, n_nodes: int, top: int, domains: Sequence[int]) -> None:
        self.top = top
        # One more column, never ready: what padding in the domain grid below points at.
        self._padded: npt.NDArray[np.float64] = np.full((top + 1, n_nodes + 1), INF)
        self.ready: npt.NDArray[np.float64] = self._padded[:, :n_nodes]
        self.ready[0, :] = -INF
        # Canonical numbering puts nodes without a domain first and each domain's nodes together.
        domain = np.asarray(domains, dtype=np.int64)
        self._first = int(np.searchsorted(domain, 0)) if n_nodes else 0
        self._segment = domain[self._first :]
        n_domains = int(domain.max()) + 1 if n_nodes and domain.max() >= 0 else 0
        lengths = np.bincount(self._segment, minlength=n_domains) if n_domains else np.zeros(0)
        self._lengths = lengths.astype(np.int64)
        self._starts = np.concatenate(([0], np.cumsum(self._lengths)[:-1])).astype(np.int64)
        # Domains as rows of node numbers (padded with the never-ready column): the k-th
        # readiest node of every domain is one partition along the rows.
        self._grid: npt.NDArray[np.int64] | None = None
        width = int(self._lengths.max()) if n_domains else 0
        if n_domains and n_domains * width <= 4 * max(1, n_nodes):
            grid = np.full((n_domains, width), n_nodes, dtype=np.int64)
            for row in range(n_domains):
                first, length = int(self._starts[row]), int(self._lengths[row])
                grid[row, :length] = np.arange(first, first + length) + self._first
            self._grid = grid

    def set(
        self, node: int, available: int, ends: Sequence[tuple[float, int]], schedulable: bool
    ) -> None:
        """Record a node's GPUs available now and its running jobs' (end, GPUs), by end."""
        top = self.top
        column = [INF] * (top + 1)
        column[0] = -INF
        if schedulable:
            count = min(available, top)
            for g in range(1, count + 1):
                column[g] = -INF
            for end, gpus in ends:
                if count >= top:
                    break
                high = min(count + gpus, top)
                for g in range(count + 1, high + 1):
                    column[g] = end
                count = high
        self.ready[:, node] = column

    def plan(self, g: int, k: int, now: float) -> Plan | None:
        """The earliest start of k nodes × g GPUs, or None if it never fits by these ends."""
        if not 0 < g <= self.top or self.ready.shape[1] < k or k < 1:
            return None
        ready = self.ready[g]
        if k == 1:
            node = int(np.argmin(ready))
            start = float(ready[node])
            return None if start == INF else Plan(max(start, now), (node,))
        anywhere = float(np.partition(ready, k - 1)[k - 1])
        if anywhere == INF:
            return None
        in_domain = self._in_one_domain(g, k)
        if in_domain is not None and in_domain.start <= anywhere:
            return Plan(max(in_domain.start, now), in_domain.nodes)
        # The k readiest nodes, ties to the lower node number (as a stable sort would).
        sooner = np.flatnonzero(ready < anywhere)
        tied = np.flatnonzero(ready == anywhere)[: k - sooner.size]
        chosen = sorted(int(n) for n in (*sooner, *tied))
        return Plan(max(anywhere, now), tuple(chosen))

    def _in_one_domain(self, g: int, k: int) -> Plan | None:
        big = np.flatnonzero(self._lengths >= k)
        if big.size == 0:
            return None
        if self._grid is not None:
            rows = self._grid[big]
            values = self._padded[g][rows]
            kth = np.partition(values, k - 1, axis=1)[:, k - 1]
            best = int(np.argmin(kth))
            start = float(kth[best])
            if start == INF:
                return None
            # Readiest first, ties to the lower node number (as a stable sort of the domain).
            chosen = rows[best][np.argsort(values[best], kind="stable")[:k]]
            return Plan(start, tuple(sorted(int(n) for n in chosen)))
        inside = self.ready[g][self._first :]
        order = np.lexsort((inside, self._segment))
        kth = inside[order[self._starts[big] + k - 1]]
        best = int(np.argmin(kth))
        start = float(kth[best])
        if start == INF:
            return None
        first = int(self._starts[big[best]])
        nodes = order[first : first + k] + self._first
        return Plan(start, tuple(sorted(int(n) for n in nodes)))
