"""Global options, and how failures reach the user: stderr message and exit code."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from neocloud.cli.main import app
from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s


def test_global_url_and_key_reach_the_client_factory(cli: Cli) -> None:
    cli.api.on("GET", "/v1/orgs", s.page([]))

    result = cli.run("--url", "http://cloud:9", "--api-key", "k1", "orgs", "list")

    assert result.exit_code == 0
    assert cli.built == [("http://cloud:9", "k1")]


def test_without_flags_the_client_resolves_env_and_config(cli: Cli) -> None:
    cli.api.on("GET", "/v1/orgs", s.page([]))

    cli.run("orgs", "list")

    assert cli.built == [(None, None)]


@pytest.mark.parametrize(
    "args",
    [("--json", "orgs", "show", "acme"), ("orgs", "show", "acme", "--json")],
)
def test_json_flag_before_or_after_the_command(cli: Cli, args: tuple[str, ...]) -> None:
    cli.api.on("GET", "/v1/orgs/acme", s.org())

    result = cli.run(*args)

    assert result.exit_code == 0
    assert json.loads(result.stdout) == s.org()


def test_api_error_is_one_line_with_details_and_exit_1(cli: Cli) -> None:
    cli.api.on(
        "POST",
        "/v1/orgs",
        {
            "error": {
                "code": "conflict",
                "message": "org 'acme' already exists",
                "details": {"field": "name"},
            }
        },
        status=409,
    )

    result = cli.run("orgs", "create", "acme", "--kind", "external")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: conflict: org 'acme' already exists",
        "  field: name",
    ]


def test_missing_key_gets_a_hint(cli: Cli) -> None:
    cli.api.on(
        "GET",
        "/v1/orgs",
        {"error": {"code": "unauthenticated", "message": "missing API key", "details": {}}},
        status=401,
    )

    result = cli.run("orgs", "list")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: unauthenticated: missing API key\n")
    assert "NEOCLOUD_API_KEY" in result.stderr


def test_bad_input_is_refused_before_the_server(cli: Cli) -> None:
    result = cli.run("orgs", "create", "Bad Name", "--kind", "external")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid_request: name: ")
    assert "  field: name" in result.stderr
    assert cli.api.requests == []


def test_connection_refused_names_the_url() -> None:
    # A port that was just free: nothing listens there, so the connection is refused for real.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"

    result = CliRunner().invoke(app, ["--url", url, "--api-key", "k", "jobs", "list"])

    assert result.exit_code == 1
    assert result.stderr == f"error: cannot reach neocloud at {url}\n"


def test_usage_errors_exit_2(cli: Cli) -> None:
    result = cli.run("jobs", "submit", "--gpu-type", "h100", "--gpus", "1", "--tier", "gold", "x")

    assert result.exit_code == 2
    assert cli.api.requests == []


def test_bad_config_file_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEOCLOUD_CONFIG", "/nonexistent/neocloud.toml")

    result = CliRunner().invoke(app, ["orgs", "list"])

    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid_config: config file /nonexistent/")
