"""`python -m neocloud.server`: the embedded cloud without the CLI (for tests and services)."""

from __future__ import annotations

import argparse
from pathlib import Path

from neocloud.server.embedded import run


def main() -> None:
    """Parse flags and serve."""
    parser = argparse.ArgumentParser(prog="python -m neocloud.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--fleet", type=Path, default=None)
    parser.add_argument("--new-operator-key", action="store_true")
    args = parser.parse_args()
    run(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        fleet_file=args.fleet,
        new_operator_key=args.new_operator_key,
    )


if __name__ == "__main__":
    main()
