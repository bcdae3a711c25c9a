"""Path and query parameters are identifiers, ids, dates and cursors: no control characters.

Checked for every route before anything else runs, so a NUL in `/v1/jobs/{id}` or `?org=` is a
422 naming the parameter on both databases, instead of PostgreSQL failing the query.
"""

from __future__ import annotations

from fastapi import Request

from neocloud.domain.text import name_problem
from neocloud.server.errors import invalid

MAX_PARAM_LENGTH = 2048


def check_params(request: Request) -> None:
    """Dependency: 422 for a path or query parameter that no identifier may hold."""
    values = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in values:
        if not isinstance(value, str):
            continue
        problem = name_problem(value)
        if problem is None and len(value) > MAX_PARAM_LENGTH:
            problem = f"longer than {MAX_PARAM_LENGTH} characters"
        if problem is not None:
            raise invalid(name, problem)
