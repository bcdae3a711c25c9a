"""The test Slurm cluster with accounting: MariaDB and slurmdbd beside it, so `sacct` answers.

MariaDB runs from a throwaway data directory, bound to 127.0.0.1 on a free port with its socket in
the run directory (grant tables skipped: nothing but this test's slurmdbd can reach it); slurmdbd
stores the cluster's jobs there. Both start before slurmctld and stop by PID after it. See
../shared/ENGINES.md (Slurm accounting).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.engines import slurm_harness
from tests.engines.slurm_harness import SlurmCluster, _free_port, _read_pid

ACCOUNTING_SBIN = ("mariadbd", "mariadb-install-db", "slurmdbd", "sacctmgr", "sacct")


def missing() -> str | None:
    """Why a Slurm cluster with accounting cannot be started here, or None if it can."""
    reason = slurm_harness.missing()
    if reason is not None:
        return reason
    absent = [name for name in ACCOUNTING_SBIN if shutil.which(name) is None]
    if absent:
        names = ", ".join(absent)
        return (
            f"Slurm accounting is not installed (missing {names}; "
            "apt-get install mariadb-server slurmdbd)"
        )
    return None


class SlurmAccountingCluster(SlurmCluster):
    """A two-node Slurm cluster whose jobs are recorded by slurmdbd in its own MariaDB."""

    def __init__(self) -> None:
        super().__init__()
        # Finished jobs leave squeue within seconds (Slurm purges them every few seconds once
        # this old), so the engine has to read them from accounting.
        self.min_job_age = 2
        self.db_port = _free_port()
        self.dbd_port = _free_port()
        self._mariadb: subprocess.Popen[bytes] | None = None

    def accounting_config(self) -> list[str]:
        """slurm.conf lines that send every job's record to this cluster's slurmdbd."""
        return [
            "AccountingStorageType=accounting_storage/slurmdbd",
            "AccountingStorageHost=127.0.0.1",
            f"AccountingStoragePort={self.dbd_port}",
            "AccountingStorageTRES=gres/gpu,gres/gpu:h100",
            # With a munge socket of its own, slurmctld must be told it for slurmdbd too
            # (without it: "Protocol authentication error").
            f"AccountingStoragePass={self.run}/munge/munge.socket",
            "JobCompType=jobcomp/none",
        ]

    def write_config(self) -> None:
        """slurm.conf and gres.conf as without accounting, plus slurmdbd.conf beside them."""
        super().write_config()
        r = self.run
        dbd = self.conf.with_name("slurmdbd.conf")
        dbd.write_text(
            "\n".join(
                [
                    "AuthType=auth/munge",
                    f"AuthInfo=socket={r}/munge/munge.socket",
                    f"DbdHost={self.host}",
                    "DbdAddr=127.0.0.1",
                    f"DbdPort={self.dbd_port}",
                    "SlurmUser=root",
                    f"PidFile={r}/slurmdbd.pid",
                    f"LogFile={r}/log/slurmdbd.log",
                    "StorageType=accounting_storage/mysql",
                    "StorageHost=127.0.0.1",
                    f"StoragePort={self.db_port}",
                    "StorageUser=root",
                    "StorageLoc=slurm_acct_db",
                ]
            )
            + "\n"
        )
        # slurmdbd refuses a configuration others may read (it may hold a password).
        dbd.chmod(0o600)

    def start_accounting(self) -> None:
        """MariaDB, then slurmdbd, then the cluster registered in it (before slurmctld)."""
        self._start_mariadb()
        subprocess.run(["slurmdbd"], env=self.env, check=True, capture_output=True)
        self._wait_pid(self.run / "slurmdbd.pid")
        self._wait_port(self.dbd_port, "slurmdbd", self.run / "log" / "slurmdbd.log")
        self.cli("sacctmgr", "-i", "add", "cluster", "neocloudtest")

    def _start_mariadb(self) -> None:
        data = self.run / "mariadb"
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "mariadb-install-db",
                # The machine's own my.cnf (if any) is not this server's.
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )
        log = (self.run / "log" / "mariadb.log").open("ab")
        self._mariadb = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                "--bind-address=127.0.0.1",
                f"--port={self.db_port}",
                f"--socket={self.run}/mariadb.sock",
                f"--pid-file={self.run}/mariadb.pid",
                "--skip-grant-tables",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=8M",
                # Slurm's own advice for its database (slurmdbd warns otherwise).
                "--innodb-lock-wait-timeout=900",
            ],
            stdout=log,
            stderr=log,
        )
        self._wait_port(self.db_port, "mariadbd", self.run / "log" / "mariadb.log")

    def _wait_port(self, port: int, what: str, log: Path, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port}\n{tail}")

    def stop_accounting(self) -> None:
        """Stop slurmdbd, then MariaDB, by PID."""
        self._kill_pidfile(self.run / "slurmdbd.pid", signal.SIGTERM)
        if self._mariadb is not None:
            pid = _read_pid(self.run / "mariadb.pid") or self._mariadb.pid
            self._stop_pid(pid, signal.SIGTERM, timeout=20)
            self._mariadb.wait(timeout=10)
            self._mariadb = None
