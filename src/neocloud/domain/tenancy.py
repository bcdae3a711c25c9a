"""Tenancy: org kinds and member roles."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    """Internal orgs are the provider's own teams; external orgs are customers."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class Role(StrEnum):
    """What a member may do inside an org; the operator is above all orgs."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    BILLING = "billing"
    VIEWER = "viewer"
    OPERATOR = "operator"


class Permission(StrEnum):
    """Actions checked by the API."""

    READ = "read"
    RUN_JOBS = "run_jobs"
    MANAGE_ORG = "manage_org"
    READ_BILLING = "read_billing"
    MANAGE_BILLING = "manage_billing"
    OPERATE = "operate"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(Permission),
    Role.OWNER: frozenset(
        {
            Permission.READ,
            Permission.RUN_JOBS,
            Permission.MANAGE_ORG,
            Permission.READ_BILLING,
            Permission.MANAGE_BILLING,
        }
    ),
    Role.ADMIN: frozenset(
        {Permission.READ, Permission.RUN_JOBS, Permission.MANAGE_ORG, Permission.READ_BILLING}
    ),
    Role.MEMBER: frozenset({Permission.READ, Permission.RUN_JOBS}),
    Role.BILLING: frozenset({Permission.READ, Permission.READ_BILLING, Permission.MANAGE_BILLING}),
    Role.VIEWER: frozenset({Permission.READ}),
}


def allows(role: Role, permission: Permission) -> bool:
    """True if a role grants a permission."""
    return permission in _GRANTS[role]


def permissions(role: Role) -> frozenset[Permission]:
    """Every permission a role grants."""
    return _GRANTS[role]


def may_grant(granter: Role, granted: Role) -> bool:
    """True if a key of role `granter` may give out role `granted`.

    Roles form a lattice ordered by their permission sets, not a ladder: granting is allowed
    only when every permission of the new role is already the granter's own, so an admin cannot
    mint a billing key (it would gain budget rights admins lack).
    """
    return _GRANTS[granted] <= _GRANTS[granter]
