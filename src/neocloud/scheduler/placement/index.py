"""Placement index of one GPU type: nodes by available GPUs, for best fit in O(GPUs per node).

Nodes are numbered 0..n-1 in a canonical order: nodes without a topology domain first, then by
domain, then by name. Best fit takes the fewest available GPUs that still fit, ties to the lower
number, so single-node work fills partly used nodes first and then domains one after another,
which keeps whole nodes and whole domains free for big jobs.

Kept per node count `c`: a heap of the nodes with exactly `c` available (stale entries are
skipped when met and compacted when they pile up); how many nodes have at least `g` available,
overall and per domain; and each domain's available total (a gang goes to the fullest domain
that can hold it).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence


class NodeIndex:
    """Available GPUs per node of one type, indexed for placement queries."""

    __slots__ = (
        "_domain",
        "avail",
        "buckets",
        "count_ge",
        "dom_avail",
        "dom_ge",
        "dom_nodes",
        "sizes",
        "top",
    )

    def __init__(self, capacities: Sequence[int], domains: Sequence[int], n_domains: int) -> None:
        n = len(capacities)
        self.top = max(capacities, default=0)
        self.avail = [0] * n
        self._domain = list(domains)
        self.sizes = [0] * (self.top + 1)
        self.sizes[0] = n
        self.buckets: list[list[int]] = [[] for _ in range(self.top + 1)]
        # count_ge[g]: nodes with at least g available, for g in 0..top+1.
        self.count_ge = [0] * (self.top + 2)
        self.count_ge[0] = n
        self.dom_nodes: list[list[int]] = [[] for _ in range(n_domains)]
        for node, domain in enumerate(domains):
            if domain >= 0:
                self.dom_nodes[domain].append(node)
        # dom_ge[g][d]: nodes of domain d with at least g available.
        self.dom_ge = [[0] * n_domains for _ in range(self.top + 2)]
        self.dom_ge[0] = [len(members) for members in self.dom_nodes]
        self.dom_avail = [0] * n_domains

    def set(self, node: int, value: int) -> None:
        """Set how many GPUs a node has available."""
        old = self.avail[node]
        if value == old:
            return
        self.avail[node] = value
        sizes = self.sizes
        sizes[old] -= 1
        sizes[value] += 1
        if value:
            bucket = self.buckets[value]
            heapq.heappush(bucket, node)
            if len(bucket) > 2 * sizes[value] + 32:
                self._compact(value)
        domain = self._domain[node]
        count_ge = self.count_ge
        if value > old:
            for g in range(old + 1, value + 1):
                count_ge[g] += 1
            if domain >= 0:
                for g in range(old + 1, value + 1):
                    self.dom_ge[g][domain] += 1
        else:
            for g in range(value + 1, old + 1):
                count_ge[g] -= 1
            if domain >= 0:
                for g in range(value + 1, old + 1):
                    self.dom_ge[g][domain] -= 1
        if domain >= 0:
            self.dom_avail[domain] += value - old

    def fits(self, g: int, k: int) -> bool:
        """True if `k` distinct nodes each have `g` available."""
        return 0 < g <= self.top and self.count_ge[g] >= k

    def nodes_with(self, g: int) -> int:
        """How many nodes have at least `g` available."""
        return self.count_ge[g] if 0 <= g <= self.top else 0

    def largest(self) -> int:
        """Most GPUs available on one node."""
        for count in range(self.top, 0, -1):
            if self.sizes[count]:
                return count
        return 0

    def best(self, g: int) -> int | None:
        """The best-fit node for `g` GPUs, or None."""
        if g < 1:
            return None
        avail, sizes, buckets = self.avail, self.sizes, self.buckets
        for count in range(g, self.top + 1):
            if sizes[count]:
                bucket = buckets[count]
                while avail[bucket[0]] != count:
                    heapq.heappop(bucket)
                return bucket[0]
        return None

    def gang(self, g: int, k: int) -> list[int] | None:
        """`k` nodes with `g` available each: in the fullest domain that holds them, else the
        `k` best-fit nodes anywhere. Sorted by node number; None if they do not exist."""
        if not self.fits(g, k):
            return None
        ge = self.dom_ge[g]
        best: tuple[int, int] | None = None
        for domain, count in enumerate(ge):
            if count >= k:
                key = (self.dom_avail[domain], domain)
                if best is None or key < best:
                    best = key
        avail = self.avail
        if best is not None:
            members = self.dom_nodes[best[1]]
            ranked = sorted((avail[n], n) for n in members if avail[n] >= g)
            return sorted(n for _, n in ranked[:k])
        chosen: list[int] = []
        for count in range(g, self.top + 1):
            if self.sizes[count]:
                live = sorted({n for n in self.buckets[count] if avail[n] == count})
                chosen.extend(live[: k - len(chosen)])
                if len(chosen) == k:
                    break
        return sorted(chosen)

    def _compact(self, count: int) -> None:
        avail = self.avail
        # A sorted list is a valid heap.
        self.buckets[count] = sorted({n for n in self.buckets[count] if avail[n] == count})


class CountIndex:
    """How many nodes have at least g of something (free GPUs, reclaimable GPUs), per g."""

    __slots__ = ("count_ge", "top", "value")

    def __init__(self, n_nodes: int, top: int) -> None:
        self.top = top
        self.value = [0] * n_nodes
        self.count_ge = [0] * (top + 2)
        self.count_ge[0] = n_nodes

    def set(self, node: int, value: int) -> None:
        """Set a node's value (clamped to 0..top)."""
        value = min(max(value, 0), self.top)
        old = self.value[node]
        if value == old:
            return
        self.value[node] = value
        count_ge = self.count_ge
        if value > old:
            for g in range(old + 1, value + 1):
                count_ge[g] += 1
        else:
            for g in range(value + 1, old + 1):
                count_ge[g] -= 1

    def at_least(self, g: int) -> int:
        """Nodes whose value is at least `g`."""
        return self.count_ge[g] if 0 <= g <= self.top else 0
