"""The embedded server's data directory is its own, and its tenants' users are the operator's."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from neocloud.engines.tenant_users import TenantUserError
from neocloud.server.embedded import TENANT_USER_POOL, build_context, tenant_users


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("existing_mode", [None, 0o755, 0o777, 0o700])
def test_the_data_dir_is_made_or_tightened_to_0700(
    tmp_path: Path, existing_mode: int | None
) -> None:
    data_dir = tmp_path / "data"
    if existing_mode is not None:
        data_dir.mkdir()
        data_dir.chmod(existing_mode)

    ctx = build_context(data_dir)
    ctx.db.dispose()

    assert _mode(data_dir) == 0o700


def test_a_configured_pool_gives_each_org_its_own_user_for_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TENANT_USER_POOL, " nobody ,")

    assert tenant_users(tmp_path).identity("org_a").user == "nobody"
    # Recorded in the data dir: a restarted server keeps the assignment.
    assert tenant_users(tmp_path).identity("org_a").user == "nobody"
    assert (tmp_path / "engine" / "tenant-users.json").exists()
    with pytest.raises(TenantUserError, match="pool is exhausted"):
        tenant_users(tmp_path).identity("org_b")
