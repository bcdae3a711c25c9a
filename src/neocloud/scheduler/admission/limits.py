"""Capacity rules: quotas with borrowing, reserved contracts and the sellable cap.

Holdings are counted twice (see `books`). `now` is what running jobs physically hold (victims
still exiting included), and a start must fit every limit there. `future` is what will be held
once the preemptions under way complete and the jobs waiting on them start; a start must fit
there too, so it cannot take room already promised, and a preemption is judged by it alone.

Internal orgs (a cohort per GPU type): an org may hold up to quota + borrow limit; the part
above its quota only out of quota other internal orgs leave unused, i.e. all internal orgs
together hold at most the sum of their quotas. Work within its org's quota may reclaim borrowed
capacity (production and research classes; batch waits for it to come back).

Reserved: an org's reserved work holds at most its active contract of the type.

Sellable cap per GPU type: floor(fraction × GPUs of schedulable nodes). What counts against it
is on-demand held + each org's reserved contract in full (or what it holds, if more) + spot held
beyond the contract room reserved work leaves unused: spot work running in that room is lent
capacity and is not counted twice. In symbols, per type,
    counted = D + Σ_org max(C_org, R_org) + max(0, S − Σ_org max(0, C_org − R_org)).

Every check also records the ranges of the holdings it read inside which its verdict keeps its
kind (`ranges`); the watch over them is told whenever a holding moves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from neocloud.domain.jobs import PriorityClass, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.admission.books import Book
from neocloud.scheduler.admission.ranges import Gauge, Ranges, Reading, SumTerm, Watch
from neocloud.scheduler.explanation import sentences
from neocloud.scheduler.explanation.reasons import Sentence
from neocloud.scheduler.model import PendingJob, SchedulerInput, WaitReason

DEFAULT_SELLABLE_FRACTION = Decimal(1)
# Classes that may reclaim quota their org lent (no class counts as research); batch waits.
RECLAIMING_CLASSES = frozenset({PriorityClass.PRODUCTION, PriorityClass.RESEARCH, None})

# Versions of the holdings a verdict depends on: the org's, the cohort's, the cap's.
Stamp = tuple[int, int, int]
# The two books (see `ranges`: gauges are named by book).
NOW, FUTURE = 0, 1


def sellable_fraction(value: float | Decimal) -> Decimal:
    """A sellable-cap fraction as an exact Decimal, refusing values outside 0..1."""
    # Through str, so 0.29 stays 0.29 instead of the binary float 0.28999…
    fraction = value if isinstance(value, Decimal) else Decimal(str(value))
    if not Decimal(0) <= fraction <= Decimal(1):
        raise ValueError(f"sellable_cap must be a fraction between 0 and 1, got {value}")
    return fraction


def sellable_gpus(fraction: Decimal, total: int) -> int:
    """GPUs external work may hold: floor(fraction × total)."""
    return math.floor(fraction * total)


@dataclass(frozen=True, slots=True)
class LimitBlock:
    """A limit a job would break: the wait reason and the sentence that explains it."""

    reason: WaitReason
    sentence: Sentence

    @property
    def message(self) -> str:
        """The sentence, written out."""
        return self.sentence()


@dataclass(frozen=True, slots=True)
class Shortfall:
    """GPUs victims must release before a job fits its limits (zero or less: nothing needed).

    `org_gpus` by the job's own org's spot work (an external org's quota), `cohort_gpus` by
    internal work held above its org's quota, `spot_gpus` by any spot work (the sellable cap).
    """

    org: str
    org_gpus: int = 0
    cohort_gpus: int = 0
    spot_gpus: int = 0

    @property
    def met(self) -> bool:
        """True if the job fits its limits without releasing anything."""
        return self.org_gpus <= 0 and self.cohort_gpus <= 0 and self.spot_gpus <= 0


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """The outcome of checking a job against every limit (its verdict, in the prose of this
    package): may it start, what release would make it fit, and which work it may take GPUs
    from (spot; internal work held above its org's quota).

    `ranges`: the holdings inside which the verdict keeps its kind (see `ranges`); None when
    it may not be reused at all (it blocks but may reclaim: how much to reclaim moves with
    every GPU).
    """

    block: LimitBlock | None
    shortfall: Shortfall | None
    reclaims_spot: bool
    reclaims_borrowed: bool
    ranges: Ranges | None = None

    @property
    def may_reclaim(self) -> bool:
        """May releasing GPUs (preempting) make the job fit its limits?"""
        return self.shortfall is not None and (self.reclaims_spot or self.reclaims_borrowed)


class Limits:
    """Holdings per org, per tier and per cohort, and the checks every start must pass."""

    def __init__(self, snapshot: SchedulerInput, kinds: Mapping[str, OrgKind]) -> None:
        self._quotas = dict(snapshot.quotas)
        self._borrow = dict(snapshot.borrow_limits)
        self._contracts = {k: v for k, v in snapshot.contracts.items() if v > 0}
        self._fractions = {t: sellable_fraction(v) for t, v in snapshot.sellable_cap.items()}
        self._kinds = dict(kinds)
        self._totals: dict[str, int] = {}
        self._caps: dict[str, int] = {}
        self._cohort: dict[str, int] = {}
        self._now = Book(self._contracts)
        self._future = Book(self._contracts)
        self._org_version: dict[tuple[str, str], int] = {}
        self._cohort_version: dict[str, int] = {}
        self._cap_version: dict[str, int] = {}
        self.watch = Watch()
        self._recount_cohort()

    # -- what the scheduler tells the limits ----------------------------------------------
    def set_total(self, gpu_type: str, total: int) -> None:
        """GPUs of a type over schedulable nodes (the sellable cap is a share of it)."""
        self._totals[gpu_type] = total
        self._caps[gpu_type] = sellable_gpus(self._fraction(gpu_type), total)
        self._cap_version[gpu_type] = self._cap_version.get(gpu_type, 0) + 1
        self.watch.fire_all()

    def learn_kind(self, org: str, kind: OrgKind) -> bool:
        """Record an org's kind from one of its jobs; True if that changed the cohort."""
        if self._kinds.get(org) is kind:
            return False
        known = org in self._kinds
        self._kinds[org] = kind
        if (known or kind is OrgKind.EXTERNAL) and any(o == org for o, _ in self._quotas):
            self._recount_cohort()
            return True
        return False

    def add(
        self,
        org: str,
        kind: OrgKind,
        tier: Tier,
        gpu_type: str,
        gpus: int,
        *,
        now: bool,
        future: bool,
    ) -> None:
        """Count `gpus` more (or fewer, if negative) held by a job, now and/or in the future."""
        if now:
            self._now.add(org, kind, tier, gpu_type, gpus)
            self._moved(NOW, self._now, org, kind, tier, gpu_type)
        if future:
            self._future.add(org, kind, tier, gpu_type, gpus)
            self._moved(FUTURE, self._future, org, kind, tier, gpu_type)
        key = (org, gpu_type)
        self._org_version[key] = self._org_version.get(key, 0) + 1
        if kind is OrgKind.INTERNAL:
            self._cohort_version[gpu_type] = self._cohort_version.get(gpu_type, 0) + 1
        if tier.external:
            self._cap_version[gpu_type] = self._cap_version.get(gpu_type, 0) + 1

    def _moved(
        self, at: int, book: Book, org: str, kind: OrgKind, tier: Tier, gpu_type: str
    ) -> None:
        """Tell the watch the new value of every holding of `book` a job of this kind moved."""
        moved = self.watch.moved
        moved((at, "org", gpu_type, org), book.org.get((org, gpu_type), 0))
        if kind is OrgKind.INTERNAL:
            moved((at, "internal", gpu_type, ""), book.internal.get(gpu_type, 0))
        if tier is Tier.RESERVED:
            moved((at, "reserved", gpu_type, org), book.reserved.get((org, gpu_type), 0))
            moved((at, "contracted", gpu_type, ""), book.contracted.get(gpu_type, 0))
            moved((at, "unused", gpu_type, ""), book.unused.get(gpu_type, 0))
        elif tier is Tier.ON_DEMAND:
            moved((at, "on_demand", gpu_type, ""), book.on_demand.get(gpu_type, 0))
        elif tier is Tier.SPOT:
            moved((at, "spot", gpu_type, ""), book.spot.get(gpu_type, 0))
        if tier.external:
            moved((at, "counted", gpu_type, ""), book.against_cap(gpu_type))
            moved((at, "committed", gpu_type, ""), book.committed(gpu_type))

    # -- what the limits tell the scheduler ----------------------------------------------
    def stamp(self, job: PendingJob) -> Stamp:
        """Versions of what `job`'s verdict depends on: equal stamps, equal verdicts."""
        gpu_type = job.resources.gpu_type
        return (
            self._org_version.get((job.org, gpu_type), 0),
            self._cohort_version.get(gpu_type, 0) if job.org_kind is OrgKind.INTERNAL else -1,
            self._cap_version.get(gpu_type, 0) if job.tier.external else -1,
        )

    def holds(self, ranges: Ranges) -> bool:
        """Are all holdings a verdict read inside its ranges again (after moving out)?"""
        books = (self._now, self._future)
        for (at, quantity, gpu_type, org), (lo, hi) in ranges.spans.items():
            book = books[at]
            if quantity == "org":
                value = book.org.get((org, gpu_type), 0)
            elif quantity == "reserved":
                value = book.reserved.get((org, gpu_type), 0)
            elif quantity == "counted":
                value = book.against_cap(gpu_type)
            elif quantity == "committed":
                value = book.committed(gpu_type)
            else:
                value = getattr(book, quantity).get(gpu_type, 0)
            if not lo <= value <= hi:
                return False
        return True

    def cap(self, gpu_type: str) -> int:
        """GPUs of a type all external work together may count."""
        cap = self._caps.get(gpu_type)
        return cap if cap is not None else 0

    def is_internal(self, org: str) -> bool:
        """Internal orgs form the borrowing cohort; unknown orgs count as internal."""
        return self._kinds.get(org, OrgKind.INTERNAL) is OrgKind.INTERNAL

    def borrowed(self, org: str, gpu_type: str) -> int:
        """GPUs an internal org will hold above its quota once promised work is done."""
        if not self.is_internal(org):
            return 0
        held = self._future.org.get((org, gpu_type), 0)
        return max(0, held - self._quotas.get((org, gpu_type), 0))

    def would_borrow(self, job: PendingJob) -> bool:
        """True if an internal org's job would take it above its quota."""
        if job.org_kind is not OrgKind.INTERNAL:
            return False
        key = (job.org, job.resources.gpu_type)
        held = max(self._now.org.get(key, 0), self._future.org.get(key, 0))
        return held + job.resources.total_gpus > self._quotas.get(key, 0)

    def check(self, job: PendingJob) -> LimitCheck:
        """May `job` start now under every limit; if not, can releasing GPUs make it fit?"""
        checks = _CheckBuilder(job)
        if job.org_kind is OrgKind.INTERNAL:
            self._check_internal(job, checks)
        elif (job.org, job.resources.gpu_type) in self._quotas:
            self._check_external_quota(job, checks)
        if job.tier is Tier.RESERVED:
            self._check_contract(job, checks)
        if job.tier.external:
            self._check_cap(job, checks)
        return checks.build()

    # -- the rules -------------------------------------------------------------------------
    def _check_internal(self, job: PendingJob, checks: _CheckBuilder) -> None:
        gpu_type, need, org = job.resources.gpu_type, job.resources.total_gpus, job.org
        key = (org, gpu_type)
        quota, limit = self._quotas.get(key), self._borrow.get(key, 0)
        held_now, held_future = self._now.org.get(key, 0), self._future.org.get(key, 0)
        held = max(held_now, held_future)
        if quota is None and limit <= 0:
            sentence = partial(sentences.quota_message, org, gpu_type, held_now, 0, None, need)
            checks.fail(LimitBlock(WaitReason.QUOTA, sentence), resolvable=False)
            return
        quota = quota or 0
        ranges = checks.ranges
        org_now: Reading = ((NOW, "org", gpu_type, org), held_now)
        org_future: Reading = ((FUTURE, "org", gpu_type, org), held_future)
        if ranges.max_above(org_now, org_future, quota + limit - need):
            if limit <= 0:
                promised = held - held_now
                sentence = partial(
                    sentences.quota_message, org, gpu_type, held_now, promised, quota, need
                )
                block = LimitBlock(WaitReason.QUOTA, sentence)
            else:
                sentence = partial(
                    sentences.borrow_limit_message, org, gpu_type, held, quota, limit, need
                )
                block = LimitBlock(WaitReason.BORROW_LIMIT, sentence)
            resolvable = not ranges.above(org_future, quota + limit - need)
            checks.fail(block, resolvable=resolvable)
            return
        within = not ranges.above(org_future, quota - need)
        checks.reclaims_spot = within
        cohort = self._cohort.get(gpu_type, 0)
        all_now = self._now.internal.get(gpu_type, 0)
        all_future = self._future.internal.get(gpu_type, 0)
        everyone = max(all_now, all_future)
        cohort_now: Reading = ((NOW, "internal", gpu_type, ""), all_now)
        cohort_future: Reading = ((FUTURE, "internal", gpu_type, ""), all_future)
        if not ranges.max_above(cohort_now, cohort_future, cohort - need):
            return
        short = all_future + need - cohort
        short_met = not ranges.above(cohort_future, cohort - need)
        if within:
            reclaims = job.priority_class in RECLAIMING_CLASSES
            sentence = partial(sentences.lent_message, org, gpu_type, held, quota, everyone, cohort)
            checks.fail(LimitBlock(WaitReason.QUOTA, sentence), resolvable=reclaims or short_met)
            checks.cohort_gpus = short
            checks.reclaims_borrowed = reclaims
        else:
            borrow = held + need - quota
            sentence = partial(
                sentences.cohort_message, org, gpu_type, borrow, quota, everyone, cohort
            )
            checks.fail(LimitBlock(WaitReason.BORROW_LIMIT, sentence), resolvable=short_met)

    def _check_external_quota(self, job: PendingJob, checks: _CheckBuilder) -> None:
        gpu_type, need, org = job.resources.gpu_type, job.resources.total_gpus, job.org
        key = (org, gpu_type)
        quota = self._quotas[key]
        held_now, held_future = self._now.org.get(key, 0), self._future.org.get(key, 0)
        held = max(held_now, held_future)
        org_now: Reading = ((NOW, "org", gpu_type, org), held_now)
        org_future: Reading = ((FUTURE, "org", gpu_type, org), held_future)
        if checks.ranges.max_above(org_now, org_future, quota - need):
            sentence = partial(
                sentences.quota_message, org, gpu_type, held_now, held - held_now, quota, need
            )
            checks.fail(LimitBlock(WaitReason.QUOTA, sentence), resolvable=True)
        checks.org_gpus = held_future + need - quota

    def _check_contract(self, job: PendingJob, checks: _CheckBuilder) -> None:
        gpu_type, need, org = job.resources.gpu_type, job.resources.total_gpus, job.org
        key = (org, gpu_type)
        contract = self._contracts.get(key, 0)
        held_now, held_future = self._now.reserved.get(key, 0), self._future.reserved.get(key, 0)
        held = max(held_now, held_future)
        reserved_now: Reading = ((NOW, "reserved", gpu_type, org), held_now)
        reserved_future: Reading = ((FUTURE, "reserved", gpu_type, org), held_future)
        if checks.ranges.max_above(reserved_now, reserved_future, contract - need):
            sentence = partial(sentences.contract_message, org, gpu_type, held, contract, need)
            checks.fail(LimitBlock(WaitReason.CONTRACT, sentence), resolvable=False)

    def _check_cap(self, job: PendingJob, checks: _CheckBuilder) -> None:
        gpu_type, need, tier, org = (
            job.resources.gpu_type,
            job.resources.total_gpus,
            job.tier,
            job.org,
        )
        cap = self.cap(gpu_type)
        before_now, after_now = self._now.counted(gpu_type, tier, org, need)
        before_future, after_future = self._future.counted(gpu_type, tier, org, need)
        block = None
        books = (
            (NOW, self._now, before_now, after_now),
            (FUTURE, self._future, before_future, after_future),
        )
        if self._over_cap(checks.ranges, books, gpu_type, tier, org, need, cap):
            sentence = partial(
                sentences.cap_message,
                gpu_type,
                before_now,
                self._now.external(gpu_type),
                max(0, before_future - before_now),
                cap,
                self._fraction(gpu_type),
                self._totals.get(gpu_type, 0),
                need,
            )
            block = LimitBlock(WaitReason.SELLABLE_CAP, sentence)
        if tier is Tier.SPOT:
            if block is not None:
                checks.fail(block, resolvable=False)
            return
        # Reserved and on-demand work may reclaim cap room from spot work, never from each other.
        room = self._future.spot_room(gpu_type, tier, org, need, cap)
        checks.reclaims_spot = True
        if block is not None:
            # Unblocked, room always exists; blocked, whether it does decides if preempting
            # spot work can help.
            no_room = self._no_room(checks.ranges, gpu_type, tier, org, need, cap)
            assert no_room == (room is None)
            checks.fail(block, resolvable=room is not None)
        if room is not None:
            checks.spot_gpus = self._future.spot.get(gpu_type, 0) - room

    def _over_cap(
        self,
        ranges: Ranges,
        books: tuple[tuple[int, Book, int, int], ...],
        gpu_type: str,
        tier: Tier,
        org: str,
        need: int,
        cap: int,
    ) -> bool:
        """Would the job take what counts against the cap above it, now or in the future?

        With the job, what counts is what counts without it plus its GPUs (on-demand work), or
        somewhere between the two (spot and reserved work may fill unused contract room), so
        it is mostly read from what counts without it: ranges on that one holding."""
        low = need if tier is Tier.ON_DEMAND else 0
        over = [entry for entry in books if entry[3] > cap]
        # Over: the larger must stay over (enough for the maximum); else both must stay under.
        read = [max(over, key=lambda entry: entry[3])] if over else books
        for at, book, before, after in read:
            reading: Reading = ((at, "counted", gpu_type, ""), before)
            term = self._cap_term(at, book, after, gpu_type, tier, org)
            ranges.near_above(reading, low, need, cap, term)
        return bool(over)

    def _cap_term(
        self, at: int, book: Book, after: int, gpu_type: str, tier: Tier, org: str
    ) -> SumTerm:
        """What counts against the cap with the job, and how it moves with the book: up with
        on-demand, contracted and spot GPUs, down with unused contract room, and (reserved
        work) either way with the org's reserved GPUs, by at most one per GPU each."""
        up = [
            _reading(at, "on_demand", gpu_type, "", book.on_demand),
            _reading(at, "contracted", gpu_type, "", book.contracted),
            _reading(at, "spot", gpu_type, "", book.spot),
        ]
        down = [_reading(at, "unused", gpu_type, "", book.unused)]
        both = []
        if tier is Tier.RESERVED:
            both.append(((at, "reserved", gpu_type, org), book.reserved.get((org, gpu_type), 0)))
        return after, up, down, both

    def _no_room(
        self, ranges: Ranges, gpu_type: str, tier: Tier, org: str, need: int, cap: int
    ) -> bool:
        """Do reserved contracts and on-demand work alone, with the job, exceed the cap?"""
        book = self._future
        committed = book.committed(gpu_type)
        up = [
            _reading(FUTURE, "on_demand", gpu_type, "", book.on_demand),
            _reading(FUTURE, "contracted", gpu_type, "", book.contracted),
        ]
        if tier is Tier.ON_DEMAND:
            value, low = committed + need, need
        else:
            # A reserved job adds to the contracted GPUs only what exceeds its contract.
            value, low = committed + book.reserved_delta(org, gpu_type, need)[0], 0
            up.append(((FUTURE, "reserved", gpu_type, org), book.reserved.get((org, gpu_type), 0)))
        reading: Reading = ((FUTURE, "committed", gpu_type, ""), committed)
        return ranges.near_above(reading, low, need, cap, (value, up, (), ()))

    def _recount_cohort(self) -> None:
        self._cohort = {}
        for (org, gpu_type), quota in self._quotas.items():
            if self.is_internal(org):
                self._cohort[gpu_type] = self._cohort.get(gpu_type, 0) + quota
        for gpu_type in self._cohort_version:
            self._cohort_version[gpu_type] += 1
        self.watch.fire_all()

    def _fraction(self, gpu_type: str) -> Decimal:
        return self._fractions.get(gpu_type, DEFAULT_SELLABLE_FRACTION)


class _CheckBuilder:
    """Collects the outcome of the rules for one job into a `LimitCheck`: the first block wins
    the sentence."""

    __slots__ = (
        "block",
        "cohort_gpus",
        "org",
        "org_gpus",
        "ranges",
        "reclaims_borrowed",
        "reclaims_spot",
        "resolvable",
        "spot_gpus",
    )

    def __init__(self, job: PendingJob) -> None:
        self.org = job.org
        self.block: LimitBlock | None = None
        self.resolvable = True
        self.org_gpus = 0
        self.cohort_gpus = 0
        self.spot_gpus = 0
        self.reclaims_spot = job.tier in (Tier.RESERVED, Tier.ON_DEMAND)
        self.reclaims_borrowed = False
        self.ranges = Ranges()

    def fail(self, block: LimitBlock, *, resolvable: bool) -> None:
        """A rule blocks the job; `resolvable` says whether releasing GPUs could lift it."""
        if self.block is None:
            self.block = block
        self.resolvable = self.resolvable and resolvable

    def build(self) -> LimitCheck:
        """The check as the rules left it."""
        shortfall = (
            Shortfall(self.org, self.org_gpus, self.cohort_gpus, self.spot_gpus)
            if self.resolvable
            else None
        )
        may_reclaim = shortfall is not None and (self.reclaims_spot or self.reclaims_borrowed)
        # A block that preemption may lift is decided afresh: what to reclaim moves with
        # every GPU held.
        ranges = None if self.block is not None and may_reclaim else self.ranges
        return LimitCheck(self.block, shortfall, self.reclaims_spot, self.reclaims_borrowed, ranges)


def _reading(at: int, quantity: str, gpu_type: str, org: str, values: dict[str, int]) -> Reading:
    gauge: Gauge = (at, quantity, gpu_type, org)
    return gauge, values.get(gpu_type, 0)
