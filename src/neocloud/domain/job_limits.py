"""How big a job's command and environment may be: one rule for the API and the engines.

A spec the API accepts must launch: Linux refuses a single argument or variable over 128 KiB
and an exec whose arguments and environment together pass ARG_MAX (2 MiB by default), and a
variable name a shell cannot export never reaches the process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

MAX_ARGS = 1000
MAX_ARG_BYTES = 128 * 1024
MAX_ENV_ENTRIES = 256
MAX_ENV_NAME = 255
MAX_ENV_VALUE_BYTES = 32 * 1024
# Command and environment together, well under ARG_MAX so the engine's own variables fit too.
MAX_SPEC_BYTES = 512 * 1024
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _size(value: str) -> int:
    return len(value.encode("utf-8", errors="surrogatepass"))


# A problem with a spec: the field it is in (`command`, `command[2]`, `env`, `env.NAME`), and why.
Problem = tuple[str, str]


def command_problem(command: Sequence[str]) -> Problem | None:
    """Why a command cannot be launched as given, or None."""
    if not 1 <= len(command) <= MAX_ARGS:
        return "command", f"must have 1 to {MAX_ARGS} arguments, got {len(command)}"
    if not command[0]:
        return "command[0]", "the program must be named"
    for i, arg in enumerate(command):
        if _size(arg) > MAX_ARG_BYTES:
            return f"command[{i}]", f"longer than {MAX_ARG_BYTES} bytes"
    return None


def env_problem(env: Mapping[str, str]) -> Problem | None:
    """Why an environment cannot be given to a process, or None."""
    if len(env) > MAX_ENV_ENTRIES:
        return "env", f"at most {MAX_ENV_ENTRIES} variables, got {len(env)}"
    for name, value in env.items():
        if len(name) > MAX_ENV_NAME or not ENV_NAME.fullmatch(name):
            return (
                f"env.{name[:80]}",
                f"not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*, at most"
                f" {MAX_ENV_NAME} characters)",
            )
        if _size(value) > MAX_ENV_VALUE_BYTES:
            return f"env.{name}", f"value longer than {MAX_ENV_VALUE_BYTES} bytes"
    return None


def spec_size_problem(command: Sequence[str], env: Mapping[str, str]) -> Problem | None:
    """Why command and environment together are too large to exec, or None."""
    total = sum(_size(a) + 1 for a in command)
    total += sum(_size(k) + _size(v) + 2 for k, v in env.items())
    if total > MAX_SPEC_BYTES:
        return "env", f"command and env together take {total} bytes, more than {MAX_SPEC_BYTES}"
    return None


def spec_problem(command: Sequence[str], env: Mapping[str, str]) -> Problem | None:
    """The first reason a command and environment could not be launched, or None."""
    return command_problem(command) or env_problem(env) or spec_size_problem(command, env)
