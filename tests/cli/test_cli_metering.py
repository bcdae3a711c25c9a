"""`neocloud meters`, `usage events` and `spend`: files checked whole, then sent; exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from neocloud.cli.main import app
from neocloud.cli.meters import parse_meters
from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "meters.yaml"
T = "2026-11-02T09:30:00Z"


def rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()]


def row(stdout: str, first: str) -> list[str]:
    """The table row whose first cell is `first`."""
    return next(r for r in rows(stdout) if r and r[0] == first)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def stateful_meters(cli: Cli) -> dict[str, dict[str, Any]]:
    """GET/PUT /v1/meters backed by a dict, so applying twice can be seen to change nothing."""
    store: dict[str, dict[str, Any]] = {}
    cli.api.handle(
        "GET",
        "/v1/meters",
        lambda _: httpx.Response(200, json=[s.gpu_meter(), *store.values()]),
    )

    def put(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[1]
        # The wire leaves out a null unique_by; the server answers with every field.
        body = {"unique_by": None, **json.loads(request.content)}
        store[name] = {"name": name, **body, "reported": True}
        return httpx.Response(200, json=store[name])

    for name in ("input_tokens", "output_tokens", "storage_gb_hours", "active_users"):
        cli.api.handle("PUT", f"/v1/meters/{name}", put)
    return store


# --- meters apply: a file is checked whole before anything is sent ---------------------------

GOOD = """\
meters:
  input_tokens:
    aggregation: sum
    unit: token
    group_by: [model]
"""

BAD_FILES: dict[str, tuple[str, list[str]]] = {
    "bad aggregation": (
        GOOD.replace("aggregation: sum", "aggregation: avg"),
        [
            "3: meters.input_tokens.aggregation: must be one of sum, max, count, unique_count,"
            " got 'avg'"
        ],
    ),
    "unknown key in a meter": (
        GOOD + "    colour: red\n",
        [
            "6: meters.input_tokens.colour: unknown key (expected aggregation, unit, unique_by,"
            " group_by, description)"
        ],
    ),
    "unknown top-level key": (
        GOOD + "metres: {}\n",
        ["6: metres: unknown key (expected 'meters')"],
    ),
    "unique_count without unique_by": (
        "meters:\n  active_users:\n    aggregation: unique_count\n    unit: user\n",
        ["2: meters.active_users.unique_by: a unique_count meter names the dimension it counts"],
    ),
    "unique_by on a sum": (
        GOOD + "    unique_by: user\n",
        ["6: meters.input_tokens.unique_by: only unique_count meters count a dimension, not sum"],
    ),
    "unique_by also grouped": (
        "meters:\n  users:\n    aggregation: unique_count\n    unit: user\n"
        "    unique_by: user\n    group_by: [user]\n",
        ["5: meters.users.unique_by: 'user' cannot also be in group_by"],
    ),
    "missing unit": (
        GOOD.replace("    unit: token\n", ""),
        ["2: meters.input_tokens.unit: missing required key"],
    ),
    "unquoted number as unit": (
        GOOD.replace("unit: token", "unit: 1000"),
        ["4: meters.input_tokens.unit: must be a string (quote numbers), got a number"],
    ),
    "repeated and malformed group_by": (
        GOOD.replace("[model]", "[model, model, 'a b']"),
        [
            "5: meters.input_tokens.group_by[1]: repeats the dimension 'model'",
            "5: meters.input_tokens.group_by[2]: a dimension name must be a letter or _, then up"
            " to 62 letters, digits, _ . or -",
        ],
    ),
    "bad meter name": (
        GOOD.replace("input_tokens", "InputTokens"),
        [
            "2: meters.InputTokens: a meter name must be a lower-case letter, then up to 62"
            " lower-case letters, digits or _"
        ],
    ),
    "the built-in meter": (
        GOOD.replace("input_tokens", "gpu_seconds"),
        ["2: meters.gpu_seconds: gpu_seconds is measured by the platform and cannot be declared"],
    ),
    "meters is a list": (
        "meters:\n  - input_tokens\n",
        ["1: meters: must be a mapping of names to meters, got a list"],
    ),
    "no meters": ("meters: {}\n", ["1: meters: declares no meters"]),
    "YAML syntax": (
        GOOD + "  output_tokens: [\n",
        ["7: <yaml>: expected the node content, but found '<stream end>'"],
    ),
    "a meter declared twice": (
        GOOD + GOOD.removeprefix("meters:\n"),
        ["6: <yaml>: found duplicate key 'input_tokens'"],
    ),
    "every problem, in file order": (
        GOOD.replace("aggregation: sum", "aggregation: avg") + "  b:\n    unit: x\n",
        [
            "3: meters.input_tokens.aggregation: must be one of sum, max, count, unique_count,"
            " got 'avg'",
            "6: meters.b.aggregation: missing required key",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_apply_refuses_a_bad_file_whole_naming_file_line_and_path(
    cli: Cli, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_FILES[case]
    path = write(tmp_path, "meters.yaml", text)

    result = cli.run("meters", "apply", str(path))

    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"{path}:{line}" for line in expected]
    assert result.stdout == ""
    assert cli.built == []  # nothing sent: not even a connection


def test_an_empty_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "meters.yaml", "# nothing yet\n")

    result = cli.run("meters", "apply", str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}: <root>: the file is empty (expected a 'meters' mapping)"
    ]


def test_the_example_file_validates() -> None:
    parsed = parse_meters(EXAMPLE.read_text())

    assert parsed.problems == []
    assert list(parsed.meters) == [
        "input_tokens",
        "output_tokens",
        "storage_gb_hours",
        "active_users",
    ]
    assert parsed.meters["active_users"].unique_by == "user"
    assert parsed.meters["output_tokens"].group_by == ["model"]


def test_apply_the_example_puts_each_meter_and_says_what_changed(cli: Cli) -> None:
    cli.api.on(
        "GET",
        "/v1/meters",
        [
            s.gpu_meter(),
            s.meter(description="Prompt tokens processed, per model"),
            s.meter(name="output_tokens", unit="tokens", description="Tokens generated, per model"),
        ],
    )
    for name in ("input_tokens", "output_tokens", "storage_gb_hours", "active_users"):
        cli.api.on("PUT", f"/v1/meters/{name}", s.meter(name=name))

    result = cli.run("meters", "apply", str(EXAMPLE))

    assert result.exit_code == 0, result.output
    puts = [r for r in cli.api.requests if r.method == "PUT"]
    assert [r.url.path.rsplit("/", 1)[1] for r in puts] == [
        "input_tokens",
        "output_tokens",
        "storage_gb_hours",
        "active_users",
    ]
    assert json.loads(puts[3].content) == {
        "aggregation": "unique_count",
        "unit": "user",
        "unique_by": "user",
        "group_by": [],
        "description": "Distinct end users seen in the period",
    }
    assert row(result.stdout, "input_tokens")[:2] == ["input_tokens", "unchanged"]
    assert row(result.stdout, "output_tokens")[:3] == ["output_tokens", "updated:", "unit"]
    assert row(result.stdout, "storage_gb_hours")[:2] == ["storage_gb_hours", "created"]
    assert row(result.stdout, "active_users")[:2] == ["active_users", "created"]
    assert result.stdout.rstrip().endswith("2 created, 1 updated, 1 unchanged")


def test_applying_the_same_file_twice_changes_nothing_the_second_time(cli: Cli) -> None:
    store = stateful_meters(cli)

    first = cli.run("meters", "apply", str(EXAMPLE), "--json")
    second = cli.run("meters", "apply", str(EXAMPLE), "--json")

    assert first.exit_code == second.exit_code == 0
    assert [m["change"] for m in json.loads(first.stdout)] == ["created"] * 4
    assert [m["change"] for m in json.loads(second.stdout)] == ["unchanged"] * 4
    assert json.loads(second.stdout)[0]["meter"] == store["input_tokens"]
    assert sorted(store) == ["active_users", "input_tokens", "output_tokens", "storage_gb_hours"]


def test_a_refused_meter_stops_apply_and_shows_what_was_declared(cli: Cli) -> None:
    cli.api.on("GET", "/v1/meters", [s.gpu_meter()])
    cli.api.on("PUT", "/v1/meters/input_tokens", s.meter())
    cli.api.on(
        "PUT",
        "/v1/meters/output_tokens",
        {
            "error": {
                "code": "conflict",
                "message": "meter 'output_tokens' has events: its aggregation, unique_by and"
                " group_by are fixed",
                "details": {"field": "aggregation"},
            }
        },
        status=409,
    )

    result = cli.run("meters", "apply", str(EXAMPLE))

    assert result.exit_code == 1
    assert row(result.stdout, "input_tokens")[:2] == ["input_tokens", "created"]
    assert result.stderr.splitlines()[0].startswith("error: conflict: meter 'output_tokens'")
    assert not any(r.url.path.endswith("storage_gb_hours") for r in cli.api.requests)


def test_apply_missing_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("meters", "apply", str(tmp_path / "absent.yaml")).exit_code == 2


def test_meters_list_and_show(cli: Cli) -> None:
    cli.api.on("GET", "/v1/meters", [s.gpu_meter(), s.meter()])
    cli.api.on("GET", "/v1/meters/input_tokens", s.meter())

    listed = cli.run("meters", "list")
    shown = cli.run("meters", "show", "input_tokens")
    as_json = cli.run("meters", "show", "input_tokens", "--json")

    assert listed.exit_code == shown.exit_code == as_json.exit_code == 0
    assert row(listed.stdout, "gpu_seconds")[:6] == [
        "gpu_seconds",
        "sum",
        "GPU-second",
        "-",
        "gpu_type,tier,region",
        "no",
    ]
    assert row(listed.stdout, "input_tokens")[:6] == [
        "input_tokens",
        "sum",
        "token",
        "-",
        "model",
        "yes",
    ]
    assert ["group", "by", "model"] in rows(shown.stdout)
    assert json.loads(as_json.stdout) == s.meter()


# --- usage events send: JSON Lines, CSV, stdin -----------------------------------------------

JSONL = (
    '{"id": "e1", "org": "acme", "meter": "input_tokens", "value": 1500, "time": "' + T + '",'
    ' "dimensions": {"model": "llama-70b"}}\n'
    "\n"
    '{"id": "e2", "org": "acme", "project": "vision", "meter": "output_tokens",'
    ' "value": 0.000001, "time": "' + T + '", "dimensions": {"model": "llama-70b"}}\n'
)
CSV = (
    "id,org,project,meter,value,time,dim.model,dim.region\n"
    f"e1,acme,,input_tokens,1500,{T},llama-70b,\n"
    "\n"
    f"e2,acme,vision,output_tokens,0.000001,{T},llama-70b,eu\n"
)
SENT = [
    {
        "id": "e1",
        "org": "acme",
        "meter": "input_tokens",
        "value": "1500",
        "time": T,
        "dimensions": {"model": "llama-70b"},
    },
    {
        "id": "e2",
        "org": "acme",
        "project": "vision",
        "meter": "output_tokens",
        "value": "0.000001",
        "time": T,
        "dimensions": {"model": "llama-70b"},
    },
]


def sent_events(cli: Cli) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for r in cli.api.requests:
        if r.method == "POST":
            events.extend(json.loads(r.content)["events"])
    for e in events:
        # The wire form of a UTC time; compare instants, not spellings.
        e["time"] = e["time"].replace("+00:00", "Z")
    return events


def test_send_jsonl_file(cli: Cli, tmp_path: Path) -> None:
    cli.api.on("POST", "/v1/usage/events", s.events_accepted())

    result = cli.run("usage", "events", "send", str(write(tmp_path, "ev.jsonl", JSONL)))

    assert result.exit_code == 0, result.output
    assert sent_events(cli) == SENT
    assert rows(result.stdout)[1:4] == [["received", "2"], ["accepted", "2"], ["duplicates", "0"]]


def test_send_csv_file_with_dimension_columns(cli: Cli, tmp_path: Path) -> None:
    cli.api.on("POST", "/v1/usage/events", s.events_accepted())

    result = cli.run("usage", "events", "send", str(write(tmp_path, "ev.csv", CSV)))

    assert result.exit_code == 0, result.output
    expected = [SENT[0], SENT[1] | {"dimensions": {"model": "llama-70b", "region": "eu"}}]
    assert sent_events(cli) == expected


def test_csv_from_a_spreadsheet_byte_order_mark_and_spaces(cli: Cli, tmp_path: Path) -> None:
    cli.api.on("POST", "/v1/usage/events", s.events_accepted())
    text = (
        "\ufeffid, org, meter, value, time, dim.model\r\n"
        + f"e1, acme, input_tokens, 1500, {T}, llama-70b\r\n"
    )
    path = tmp_path / "ev.csv"
    path.write_bytes(text.encode())

    result = cli.run("usage", "events", "send", str(path))

    assert result.exit_code == 0, result.output
    assert sent_events(cli) == [SENT[0]]


def test_a_line_separator_inside_a_json_string_is_not_a_line_break(
    cli: Cli, tmp_path: Path
) -> None:
    cli.api.on("POST", "/v1/usage/events", s.events_accepted())
    path = write(tmp_path, "ev.jsonl", JSONL.replace("llama-70b", "llama\u2028x", 1))

    result = cli.run("usage", "events", "send", str(path))

    assert result.exit_code == 0, result.output
    assert sent_events(cli)[0]["dimensions"] == {"model": "llama\u2028x"}


@pytest.mark.parametrize("text", [JSONL, CSV], ids=["jsonl", "csv"])
def test_send_from_stdin_guesses_the_format(cli: Cli, text: str) -> None:
    cli.api.on("POST", "/v1/usage/events", s.events_accepted())

    result = CliRunner().invoke(app, ["usage", "events", "send", "-", "--json"], input=text)

    assert result.exit_code == 0, result.output
    assert [e["id"] for e in sent_events(cli)] == ["e1", "e2"]
    assert json.loads(result.stdout) == s.events_accepted()


def test_format_option_overrides_the_extension(cli: Cli, tmp_path: Path) -> None:
    cli.api.on("POST", "/v1/usage/events", s.events_accepted())
    path = write(tmp_path, "events.csv", JSONL)

    result = cli.run("usage", "events", "send", "--format", "jsonl", str(path))

    assert result.exit_code == 0, result.output
    assert len(sent_events(cli)) == 2


GOOD_LINE = JSONL.splitlines()[0]
BAD_JSONL: dict[str, tuple[str, list[str]]] = {
    "not JSON": ("{oops\n", ["2: not JSON: Expecting property name enclosed in double quotes"]),
    "not an object": ("[1, 2]\n", ["2: each line must be one JSON object (an event)"]),
    "missing field": (
        GOOD_LINE.replace('"org": "acme", ', "") + "\n",
        ["2: org: Field required"],
    ),
    "negative value": (
        GOOD_LINE.replace("1500", "-1") + "\n",
        ["2: value: value must be >= 0, got -1"],
    ),
    "time without a timezone": (
        GOOD_LINE.replace(T, "2026-11-02T09:30:00") + "\n",
        ["2: time: Input should have timezone info"],
    ),
    "unknown field": (
        GOOD_LINE.replace("{", '{"colour": "red", ', 1) + "\n",
        ["2: colour: Extra inputs are not permitted"],
    ),
    "dimension not a string": (
        GOOD_LINE.replace('"llama-70b"', "70") + "\n",
        ["2: dimensions.model: Input should be a valid string"],
    ),
    "two bad lines": (
        "[1]\n\n" + GOOD_LINE.replace("1500", "-1") + "\n",
        [
            "2: each line must be one JSON object (an event)",
            "4: value: value must be >= 0, got -1",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_JSONL))
def test_send_refuses_malformed_jsonl_by_line_and_sends_nothing(
    cli: Cli, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_JSONL[case]
    path = write(tmp_path, "ev.jsonl", GOOD_LINE + "\n" + text)

    result = cli.run("usage", "events", "send", str(path))

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected) + 1
    for got, want in zip(lines, expected, strict=False):
        assert got.startswith(f"{path}:{want}")
    assert lines[-1] == f"{path}: nothing sent"
    assert cli.built == []


CSV_HEADER = "id,org,project,meter,value,time,dim.model\n"
CSV_ROW = f"e1,acme,,input_tokens,1500,{T},llama-70b\n"
BAD_CSV: dict[str, tuple[str, list[str]]] = {
    "unknown column": (
        CSV_HEADER.replace("project", "projekt") + CSV_ROW,
        [
            "1: unknown column 'projekt' (expected id, org, project, meter, value, time or"
            " dim.<name>)"
        ],
    ),
    "missing column": (
        CSV_HEADER.replace(",time", "") + CSV_ROW.replace(f",{T}", ""),
        ["1: missing column 'time'"],
    ),
    "repeated column": (
        CSV_HEADER.replace("dim.model", "org") + CSV_ROW,
        ["1: column 'org' appears twice"],
    ),
    "short row": (CSV_HEADER + CSV_ROW + "e2,acme\n", ["3: has 2 fields, the header has 7"]),
    "bad value": (
        CSV_HEADER + CSV_ROW + "\n" + CSV_ROW.replace("1500", "lots"),
        ["4: value: Input should be a valid decimal"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CSV))
def test_send_refuses_malformed_csv_by_line_and_sends_nothing(
    cli: Cli, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_CSV[case]
    path = write(tmp_path, "ev.csv", text)

    result = cli.run("usage", "events", "send", str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        *(f"{path}:{line}" for line in expected),
        f"{path}: nothing sent",
    ]
    assert cli.built == []


def test_a_quoted_multi_line_csv_field_keeps_later_line_numbers_right(
    cli: Cli, tmp_path: Path
) -> None:
    text = CSV_HEADER + CSV_ROW.replace("e1", '"e\n1"') + CSV_ROW.replace("1500", "-5")
    path = write(tmp_path, "ev.csv", text)

    result = cli.run("usage", "events", "send", str(path))

    # The quoted field spans lines 2 and 3 (and an id may not hold a line break); the next
    # event is on line 4.
    assert result.stderr.splitlines()[:2] == [
        f"{path}:2: id: id must not contain control characters (found U+000A)",
        f"{path}:4: value: value must be >= 0, got -5",
    ]


def test_a_refused_event_is_traced_back_to_its_line(cli: Cli, tmp_path: Path) -> None:
    where = "events[1].meter"
    cli.api.on(
        "POST",
        "/v1/usage/events",
        {
            "error": {
                "code": "invalid_request",
                "message": f"{where}: unknown meter 'output_tokens' (known: input_tokens)",
                "details": {"field": where},
            }
        },
        status=422,
    )
    path = write(tmp_path, "ev.jsonl", JSONL)

    result = cli.run("usage", "events", "send", str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: invalid_request: {where}: unknown meter 'output_tokens' (known: input_tokens)",
        f"  field: {where}",
        "  stored_before: 0",
        f"  at: {path}:3",
    ]


def test_send_missing_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("usage", "events", "send", str(tmp_path / "absent.jsonl"))

    assert result.exit_code == 2
    assert cli.built == []


def test_an_empty_file_sends_nothing_and_says_so(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("usage", "events", "send", "--json", str(write(tmp_path, "e.jsonl", "\n")))

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"received": 0, "accepted": 0, "duplicates": 0}
    assert cli.api.requests == []


# --- usage events list, and the usage group around it ---------------------------------------


def test_events_list_follows_pages_with_the_filters(cli: Cli) -> None:
    pages = {
        None: s.page([s.usage_event(id="a")], next_cursor="c2"),
        "c2": s.page([s.usage_event(id="b", dimensions={"model": "m", "region": "eu"})]),
    }
    cli.api.handle(
        "GET",
        "/v1/usage/events",
        lambda r: httpx.Response(200, json=pages[r.url.params.get("cursor")]),
    )

    result = cli.run(
        "usage",
        "events",
        "list",
        "--org",
        "acme",
        "--meter",
        "input_tokens",
        "--from",
        "2026-11-01",
    )

    assert result.exit_code == 0, result.output
    assert row(result.stdout, "ID") == [
        "ID",
        "ORG",
        "PROJECT",
        "METER",
        "VALUE",
        "TIME",
        "DIMENSIONS",
    ]
    assert row(result.stdout, "a") == [
        "a",
        "org_1",
        "-",
        "input_tokens",
        "1500",
        "2026-11-01",
        "00:00:00Z",
        "model=llama-70b",
    ]
    assert row(result.stdout, "b")[-1] == "model=m,region=eu"
    assert {
        (r.url.params["org"], r.url.params["meter"], r.url.params["from"]) for r in cli.api.requests
    } == {("acme", "input_tokens", "2026-11-01T00:00:00Z")}


def test_events_list_json(cli: Cli) -> None:
    cli.api.on("GET", "/v1/usage/events", s.page([s.usage_event(value="0.000001")]))

    result = cli.run("usage", "events", "list", "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == [s.usage_event(value="0.000001")]


def test_the_usage_summary_and_records_still_answer_beside_events(cli: Cli) -> None:
    cli.api.on("GET", "/v1/usage/summary", [s.usage_row()])
    cli.api.on("GET", "/v1/usage/records", s.page([s.usage_record()]))

    assert cli.run("usage").exit_code == 0
    assert cli.run("usage", "records").exit_code == 0
    assert cli.run("usage", "events").exit_code == 2  # help, like every group without a command
    assert [r.url.path for r in cli.api.requests] == ["/v1/usage/summary", "/v1/usage/records"]


# --- spend ----------------------------------------------------------------------------------


def test_spend_shows_total_period_as_of_and_lines(cli: Cli) -> None:
    cli.api.on("GET", "/v1/spend", s.spend())

    result = cli.run("spend", "--org", "acme", "--project", "vision")

    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert ["period", "2026-11"] in table
    assert ["as", "of", "2026-11-15", "12:00:00Z"] in table
    assert ["amount", "2.35"] in table
    assert ["currency", "USD"] in table
    assert ["input_tokens", "llama-70b", "input_tokens", "150000", "token", "0.000001", "0.15"] in (
        table
    )
    assert dict(cli.api.requests[-1].url.params) == {"org": "acme", "project": "vision"}


def test_spend_json_keeps_decimals_exact(cli: Cli) -> None:
    cli.api.on("GET", "/v1/spend", s.spend())

    result = cli.run("--json", "spend")

    assert json.loads(result.stdout) == s.spend()
    assert dict(cli.api.requests[-1].url.params) == {}
