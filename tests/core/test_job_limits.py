"""A job spec the API accepts can be exec'd: the limits hold exactly at their bounds."""

from __future__ import annotations

import pytest

from neocloud.domain import job_limits as jl
from neocloud.engines.placement import ENV_NAME


@pytest.mark.parametrize(
    ("command", "env", "problem"),
    [
        (["x"] * jl.MAX_ARGS, {}, None),
        (["x"] * (jl.MAX_ARGS + 1), {}, "command"),
        ([], {}, "command"),
        (["", "x"], {}, "command[0]"),
        (["x", "é" * (jl.MAX_ARG_BYTES // 2)], {}, None),
        (["x", "é" * (jl.MAX_ARG_BYTES // 2) + "a"], {}, "command[1]"),
        (["x"], {f"K{i}": "" for i in range(jl.MAX_ENV_ENTRIES)}, None),
        (["x"], {f"K{i}": "" for i in range(jl.MAX_ENV_ENTRIES + 1)}, "env"),
        (["x"], {"_a1": "v"}, None),
        (["x"], {"a-b": "v"}, "env.a-b"),
        (["x"], {"A" * jl.MAX_ENV_NAME: "v"}, None),
        (["x"], {"A": "v" * jl.MAX_ENV_VALUE_BYTES}, None),
        (["x"], {"A": "v" * (jl.MAX_ENV_VALUE_BYTES + 1)}, "env.A"),
        (["x"], {f"K{i}": "v" * 30_000 for i in range(20)}, "env"),
    ],
)
def test_spec_problems_name_the_field(
    command: list[str], env: dict[str, str], problem: str | None
) -> None:
    found = jl.spec_problem(command, env)
    assert (found[0] if found else None) == problem


@pytest.mark.parametrize("name", ["A", "_x", "PATH", "a1_B2", "1A", "A-B", "A B", "", "É"])
def test_engines_and_api_share_one_variable_name_rule(name: str) -> None:
    api_accepts = jl.env_problem({name: "v"}) is None
    assert api_accepts == bool(ENV_NAME.fullmatch(name))
