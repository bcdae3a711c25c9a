"""The OS identity a tenant's work runs as: one unprivileged user (and group) per org.

Engines that run customers' code on machines the control plane manages (the local engine's
sandbox, Slurm's `sbatch --uid/--gid`) ask `TenantUsers.identity(org_id)` for the uid and gid
to run an attempt as, so one org's processes and files are never another org's, nor the
control plane's.

Where an identity comes from, first match wins:
1. the operator's explicit mapping (org id -> existing user name);
2. the operator's pool of existing users: each org gets the next free one, recorded in a
   small JSON file so that the assignment survives restarts and never gives two orgs one user;
3. otherwise (when `create` is on) a system user made on demand: `useradd --system
   --no-create-home --shell /usr/sbin/nologin --user-group`, named `prefix` + a hash of the org
   id, so the same org always gets the same user (and that user's own group) on every machine
   that derives it.

Never uid 0 or gid 0, and never the control plane's own uid: such an identity is refused
(`TenantUserError`) whatever its source, so a mistake in the mapping cannot hand a customer the
control plane's rights. Creating users needs root.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PREFIX = "nc-"
# Hex digits of sha256(org id) in a derived name: 48 bits, so collisions between orgs are not a
# practical concern, and the name stays well below useradd's 32-character limit.
HASH_CHARS = 12
NOLOGIN = "/usr/sbin/nologin"
# useradd exits 9 when the name exists (a concurrent creator won) and 10 when another process
# holds the lock on /etc/passwd: both are retried by looking up or trying again.
_USERADD_NAME_IN_USE = 9
_USERADD_LOCKED = 10
_LOCK_RETRIES = 50
_LOCK_RETRY_SECONDS = 0.1
# Concurrent useradd runs were seen to lose each other's /etc/passwd updates (one name, several
# uids), so every creation on the host goes through this lock, held across lookup and useradd.
USERADD_LOCK = Path("/run/lock/neocloud-tenant-users.lock")


class TenantUserError(Exception):
    """No safe OS identity for an org (unknown user, privileged uid, creation failed)."""


@dataclass(frozen=True, slots=True)
class TenantIdentity:
    """The unprivileged OS user an org's work runs as."""

    user: str
    uid: int
    gid: int


def derived_user_name(org_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The user name made on demand for an org: `prefix` + 12 hex digits of sha256(org id)."""
    if not org_id:
        raise TenantUserError("an org id is needed to choose its OS user")
    digest = hashlib.sha256(org_id.encode("utf-8")).hexdigest()[:HASH_CHARS]
    return f"{prefix}{digest}"


def check_unprivileged(identity: TenantIdentity) -> TenantIdentity:
    """`identity` itself, or TenantUserError if it is root's or the control plane's own."""
    if identity.uid == 0 or identity.gid == 0:
        raise TenantUserError(f"user {identity.user!r} has uid or gid 0: never a tenant's user")
    if identity.uid == os.geteuid():
        raise TenantUserError(
            f"user {identity.user!r} is the control plane's own user (uid {identity.uid})"
        )
    return identity


def lookup(user: str) -> TenantIdentity | None:
    """The identity of an existing user name, or None if there is no such user."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return TenantIdentity(user=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)


class TenantUsers:
    """Maps org ids to unprivileged OS identities (see the module docstring for the order)."""

    def __init__(
        self,
        *,
        mapping: Mapping[str, str] | None = None,
        pool: Sequence[str] = (),
        pool_state: Path | None = None,
        create: bool = True,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        if pool and pool_state is None:
            raise ValueError("a user pool needs pool_state, the file recording its assignments")
        if not prefix or not prefix[0].isalpha() or not prefix.replace("-", "").isalnum():
            raise ValueError(f"prefix must start with a letter; letters, digits, '-': {prefix!r}")
        self._mapping = dict(mapping or {})
        self._pool = tuple(pool)
        self._pool_state = pool_state
        self._create = create
        self._prefix = prefix
        # useradd is not safe to race within one process (threads share the retry budget), and
        # two threads asking for one new org should make one user.
        self._lock = threading.Lock()

    def identity(self, org_id: str) -> TenantIdentity:
        """The OS identity of `org_id`'s work, creating its user if configured to."""
        if not org_id:
            raise TenantUserError("an org id is needed to choose its OS user")
        if org_id in self._mapping:
            return check_unprivileged(self._existing(self._mapping[org_id], f"org {org_id}"))
        if self._pool:
            return check_unprivileged(self._from_pool(org_id))
        name = derived_user_name(org_id, self._prefix)
        found = lookup(name)
        if found is not None:
            return check_unprivileged(found)
        if not self._create:
            raise TenantUserError(
                f"no OS user for org {org_id}: create {name!r} or map the org to a user"
            )
        with self._lock:
            return check_unprivileged(ensure_system_user(name))

    def _existing(self, user: str, whose: str) -> TenantIdentity:
        """An operator-named user, which must exist."""
        found = lookup(user)
        if found is None:
            raise TenantUserError(f"the OS user {user!r} configured for {whose} does not exist")
        return found

    def _from_pool(self, org_id: str) -> TenantIdentity:
        """The pool user recorded for the org, or the first unassigned one (recorded first)."""
        assert self._pool_state is not None
        with self._lock, _file_lock(self._pool_state.with_name(self._pool_state.name + ".lock")):
            assigned = _read_assignments(self._pool_state)
            if org_id not in assigned:
                taken = set(assigned.values())
                free = [u for u in self._pool if u not in taken]
                if not free:
                    raise TenantUserError(
                        f"the OS user pool is exhausted ({len(self._pool)} users): "
                        f"no user for org {org_id}"
                    )
                assigned[org_id] = free[0]
                _write_assignments(self._pool_state, assigned)
            return self._existing(assigned[org_id], f"org {org_id} (from the pool)")


def ensure_system_user(name: str) -> TenantIdentity:
    """The user `name`, made first (system user, own group, no home, no login) if missing.

    Safe to call from several processes at once: creations on a host are serialised."""
    found = lookup(name)
    if found is not None:
        return found
    with _file_lock(USERADD_LOCK):
        # Another process may have made it while we waited for the lock.
        return lookup(name) or _create_system_user(name)


def _create_system_user(name: str) -> TenantIdentity:
    """Make a system user with its own group, no home and no login (call under USERADD_LOCK)."""
    argv = [
        "useradd",
        "--system",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        NOLOGIN,
        "--user-group",
        "--comment",
        "neocloud tenant",
        name,
    ]
    for _ in range(_LOCK_RETRIES):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            raise TenantUserError(f"cannot create OS user {name!r}: useradd not found") from exc
        if done.returncode in (0, _USERADD_NAME_IN_USE):
            break
        if done.returncode != _USERADD_LOCKED:
            raise TenantUserError(
                f"cannot create OS user {name!r} (useradd exit {done.returncode}): "
                f"{done.stderr.strip()}"
            )
        time.sleep(_LOCK_RETRY_SECONDS)
    found = lookup(name)
    if found is None:
        raise TenantUserError(f"cannot create OS user {name!r}: /etc/passwd stayed locked")
    return found


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes that share the pool (several servers, one host)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_assignments(path: Path) -> dict[str, str]:
    """org id -> pool user, as recorded."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise TenantUserError(f"{path} does not hold a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def _write_assignments(path: Path, assigned: dict[str, str]) -> None:
    """Record the assignments atomically (a crash leaves the old or the new file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(assigned, sort_keys=True), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
