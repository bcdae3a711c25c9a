"""A fixed pool of OS users for the servers tests start, so that the many orgs tests create do
not each leave a system user behind (the local engine runs each org's jobs as its own user)."""

from __future__ import annotations

import functools
import os

from neocloud.engines.tenant_users import ensure_system_user
from neocloud.server.embedded import TENANT_USER_POOL

# More than any one test server's orgs that run jobs; the same users serve every test run.
POOL = tuple(f"nctest-pool-{i:02d}" for i in range(16))


@functools.cache
def tenant_pool_env() -> dict[str, str]:
    """The environment that makes a test server take its tenants' users from the pool."""
    if os.geteuid() != 0:
        # Without root the sandbox runs jobs as the server's own user: no pool is needed.
        return {}
    for name in POOL:
        ensure_system_user(name)
    return {TENANT_USER_POOL: ",".join(POOL)}
