"""Start the real control-plane process on a free port for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.tenant_pool import tenant_pool_env


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`python -m neocloud.server` in its own process group, with its banner parsed."""

    def __init__(
        self, data_dir: Path, fleet: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.fleet = fleet
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**tenant_pool_env(), **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.operator_key = ""
        self.log_path = data_dir / "server.log"
        self.key_file = data_dir.with_name(data_dir.name + ".operator-key")

    def start(self, timeout: float = 60) -> ServerProcess:
        """Start and wait until /healthz answers; the operator key is read from the banner."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "neocloud.server",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.fleet:
            cmd += ["--fleet", str(self.fleet)]
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
            env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(
                    f"server exited early: {''.join(lines)}\n{self.log_path.read_text()}"
                )
            lines.append(line)
            m = re.search(r"NEOCLOUD_API_KEY=(\S+)", line)
            if m:
                self.operator_key = m.group(1)
                # A restart on the same data mints none: the key of the first start is kept.
                self.key_file.write_text(self.operator_key)
                break
            if "no new one was minted" in line:
                self.operator_key = self.key_file.read_text()
                break
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy")

    def kill(self) -> None:
        """SIGKILL the control plane only (jobs it launched keep running in their own groups)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop gracefully."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
