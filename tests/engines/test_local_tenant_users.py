"""Each org's work gets its own unprivileged OS user: derived, mapped or pooled, never root."""

from __future__ import annotations

import os
import pwd
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from neocloud.engines import tenant_users
from neocloud.engines.tenant_users import (
    TenantIdentity,
    TenantUserError,
    TenantUsers,
    check_unprivileged,
    derived_user_name,
)
from tests.conftest import skip_or_fail

# Users made by these tests carry this prefix, so a leftover is recognisable as a test's.
TEST_PREFIX = "nctest-"


def _delete_user(name: str) -> None:
    """Remove a test user and its group (useradd --user-group made one of the same name)."""
    subprocess.run(["userdel", name], capture_output=True, check=False)
    subprocess.run(["groupdel", name], capture_output=True, check=False)


@pytest.fixture
def root() -> None:
    """Creating OS users needs root (the tests run as root in CI)."""
    if os.geteuid() != 0:
        skip_or_fail("creating OS users needs root")


@pytest.fixture
def org_ids(root: None) -> Iterator[Callable[[], str]]:
    """Fresh org ids; the users derived for them are deleted afterwards."""
    made: list[str] = []

    def new() -> str:
        org_id = f"org-{uuid.uuid4().hex[:10]}"
        made.append(org_id)
        return org_id

    yield new
    for org_id in made:
        _delete_user(derived_user_name(org_id, TEST_PREFIX))


@pytest.fixture
def pool_users(root: None) -> Iterator[list[str]]:
    """Three existing users an operator could list as a pool."""
    names = [f"{TEST_PREFIX}pool{uuid.uuid4().hex[:6]}" for _ in range(3)]
    for name in names:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--user-group", name], check=True
        )
    yield names
    for name in names:
        _delete_user(name)


def test_derived_names_are_stable_distinct_and_short() -> None:
    a, b = derived_user_name("org-a"), derived_user_name("org-b")
    assert a == derived_user_name("org-a")
    assert a != b
    assert a.startswith("nc-") and len(a) <= 32
    assert derived_user_name("org-a", "x-").startswith("x-")


def test_an_org_id_is_required() -> None:
    with pytest.raises(TenantUserError, match="org id"):
        TenantUsers(prefix=TEST_PREFIX).identity("")


def test_creates_an_unprivileged_system_user_per_org(org_ids: Callable[[], str]) -> None:
    users = TenantUsers(prefix=TEST_PREFIX)
    a, b = org_ids(), org_ids()

    ida, idb = users.identity(a), users.identity(b)

    assert ida.user == derived_user_name(a, TEST_PREFIX)
    assert ida.uid != idb.uid and ida.gid != idb.gid
    for ident in (ida, idb):
        entry = pwd.getpwnam(ident.user)
        assert (entry.pw_uid, entry.pw_gid) == (ident.uid, ident.gid)
        assert ident.uid not in (0, os.geteuid()) and ident.gid != 0
        assert entry.pw_shell == tenant_users.NOLOGIN
        assert not Path(entry.pw_dir).exists()


def test_same_org_same_identity_across_instances(org_ids: Callable[[], str]) -> None:
    org = org_ids()
    first = TenantUsers(prefix=TEST_PREFIX).identity(org)
    assert TenantUsers(prefix=TEST_PREFIX).identity(org) == first
    # A second machine of the operator's, without creation rights, finds the same user.
    assert TenantUsers(prefix=TEST_PREFIX, create=False).identity(org) == first


def test_concurrent_first_use_makes_one_user(org_ids: Callable[[], str]) -> None:
    orgs = [org_ids() for _ in range(3)]
    # Separate instances do not share a lock: useradd's own races (name taken, passwd locked)
    # must resolve to one identity per org.
    asks = [orgs[i % 3] for i in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        got = list(pool.map(lambda org: (org, TenantUsers(prefix=TEST_PREFIX).identity(org)), asks))

    by_org: dict[str, set[TenantIdentity]] = {}
    for org, ident in got:
        by_org.setdefault(org, set()).add(ident)
    assert all(len(idents) == 1 for idents in by_org.values())
    assert len({next(iter(v)).uid for v in by_org.values()}) == 3


def test_without_creation_a_missing_user_is_an_error_naming_it(root: None) -> None:
    org = f"org-{uuid.uuid4().hex[:10]}"
    with pytest.raises(TenantUserError, match=derived_user_name(org, TEST_PREFIX)):
        TenantUsers(prefix=TEST_PREFIX, create=False).identity(org)
    assert tenant_users.lookup(derived_user_name(org, TEST_PREFIX)) is None


@pytest.mark.parametrize(
    ("mapped_to", "error"),
    [
        ("nobody", None),
        ("root", "uid or gid 0"),
        ("nctest-no-such-user", "does not exist"),
    ],
)
def test_explicit_mapping(mapped_to: str, error: str | None) -> None:
    users = TenantUsers(mapping={"org-a": mapped_to}, create=False)
    if error is None:
        assert users.identity("org-a") == tenant_users.lookup(mapped_to)
    else:
        with pytest.raises(TenantUserError, match=error):
            users.identity("org-a")


@pytest.mark.parametrize(
    ("identity", "error"),
    [
        (TenantIdentity("root", 0, 0), "uid or gid 0"),
        (TenantIdentity("wheel", 1234, 0), "uid or gid 0"),
        (TenantIdentity("me", 4321, 4321), "control plane's own user"),
    ],
)
def test_privileged_identities_are_refused(
    identity: TenantIdentity, error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 4321)
    with pytest.raises(TenantUserError, match=error):
        check_unprivileged(identity)
    assert check_unprivileged(TenantIdentity("ok", 1000, 1000)).uid == 1000


def test_pool_assigns_distinct_users_and_remembers(pool_users: list[str], tmp_path: Path) -> None:
    state = tmp_path / "pool.json"
    users = TenantUsers(pool=pool_users, pool_state=state, create=False)

    got = [users.identity(org).user for org in ("org-a", "org-b", "org-c")]

    assert got == pool_users
    # A restarted control plane keeps each org's user.
    again = TenantUsers(pool=pool_users, pool_state=state, create=False)
    assert again.identity("org-b").user == pool_users[1]
    with pytest.raises(TenantUserError, match="pool is exhausted"):
        again.identity("org-d")


def test_pool_needs_a_state_file() -> None:
    with pytest.raises(ValueError, match="pool_state"):
        TenantUsers(pool=["nobody"])
