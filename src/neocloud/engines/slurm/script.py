"""The batch script of one attempt on Slurm, and the files through which it reports.

The script runs the job's command with `srun`, one task per node neocloud placed it on (a gang
of N nodes is one step of N tasks), so a preemption notice sent to the job's steps
(`scancel --signal=TERM`) reaches the command on every node while the script itself lives on to
record the end. The script runs as the org's unprivileged user (`sbatch --uid`), so it writes
only in the attempt's `run/` directory, which that user owns (see `slurm.engine`):

- `started`    `<slurm job id> <epoch seconds>` just before srun starts the command
- `rank-<r>.started`  `<epoch seconds>` as rank r's command starts (srun may take a while)
- `heartbeat`  touched twice a second while it lives: the last sign of life if the node dies
- `exit`       `<exit status> <epoch seconds>` once every task has ended

Under `isolation: sandbox` each rank's command runs inside bubblewrap (`sandbox.bwrap_command`,
the local engine's rule): it sees `run/work/` at /job, a private /tmp, read-only system
directories, a /proc of its own PID namespace, and of the node's GPU device files only those of
the GPUs Slurm gave this rank's step. The files above stay outside, so the job cannot rewrite
them. The job's environment reaches only the sandbox (`env.args`, bwrap arguments written by
the engine), never the script's own shell, so it cannot pose as Slurm's GPU variables.

The script also SIGKILLs the job once the deadline in `kill_at` (written by the engine when it
cancels, in the attempt directory the job can read but not change) has passed, so the grace ends
on time even while the control plane is down. (`scancel --signal=KILL` cancels the whole job in
Slurm; the script then gets SIGTERM and records that instant as the end.)
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from neocloud.engines.base import EngineError, LaunchSpec
from neocloud.engines.placement import check_env_names
from neocloud.engines.sandbox import GPU_CONTROL_DEVICES, GPU_DEVICE_PREFIX, bwrap_command

RUN = "run"
STARTED = "started"
HEARTBEAT = "heartbeat"
EXIT = "exit"
KILL_AT = "kill_at"
OUTPUT = "output.log"
SCRIPT = "job.sh"
# Under a sandbox: the job's own directory in run/ (its /job), and its environment as bwrap
# arguments (in the attempt directory, which the job's user may read but not change).
WORK = "work"
ENV_ARGS = "env.args"
# The file descriptor on which a sandboxed rank's bwrap reads its per-rank arguments.
_ARGS_FD = 3

# Exported last, so a job cannot spoof its identity. Per-rank values come from srun's variables.
# Each rank also stamps the instant its command starts: usage counts from the first of them.
_RANK_ENV = (
    'date +%s.%N > "$1/rank-$SLURM_PROCID.started"; shift; '
    'export NEOCLOUD_NODE_RANK="$SLURM_PROCID" NEOCLOUD_NODE_NAME="$SLURMD_NODENAME"; exec "$@"'
)
RANK_STARTED = "rank-*.started"

# A sandboxed rank: "$1" run dir, "$2" attempt dir, "$3" the GPU device directory, then the
# bwrap command. Stamps the start outside the sandbox, then gives bwrap (on fd 3) the job's
# environment, the device files of the GPUs Slurm gave this step (numbered from 0 for CUDA,
# which counts the GPUs it can open) and the rank's identity, last so the job cannot spoof it.
_RANK_SANDBOX = f"""R=$1 A=$2 D=$3; shift 3
date +%s.%N > "$R/rank-$SLURM_PROCID.started"
if [ ! -x "$1" ]; then
  echo "neocloud: no bubblewrap at $1 on node $SLURMD_NODENAME; this cluster is declared \\
isolation: sandbox, so bubblewrap must be installed on every compute node" >&2
  exit 127
fi
ids=${{SLURM_STEP_GPUS-${{CUDA_VISIBLE_DEVICES-}}}}
args=()
n=0
cvd=
for i in ${{ids//,/ }}; do
  case $i in ''|*[!0-9]*) echo "neocloud: unexpected GPU index '$i' from Slurm" >&2; exit 125;; esac
  if [ -e "$D/{GPU_DEVICE_PREFIX}$i" ]; then
    args+=(--dev-bind "$D/{GPU_DEVICE_PREFIX}$i" "/dev/{GPU_DEVICE_PREFIX}$i")
  fi
  cvd=$cvd${{cvd:+,}}$n
  n=$((n + 1))
done
for c in {" ".join(GPU_CONTROL_DEVICES)}; do
  if [ -e "$D/$c" ]; then args+=(--dev-bind "$D/$c" "/dev/$c"); fi
done
args+=(--setenv CUDA_VISIBLE_DEVICES "$cvd" --setenv NEOCLOUD_GPU_INDICES "$ids")
args+=(--setenv NEOCLOUD_NODE_RANK "$SLURM_PROCID" --setenv NEOCLOUD_NODE_NAME "$SLURMD_NODENAME")
exec "$@" {_ARGS_FD}< <(cat "$A/{ENV_ARGS}" && printf '%s\\0' "${{args[@]}}")
"""


@dataclass(frozen=True, slots=True)
class RankSandbox:
    """Where a sandboxed rank finds bubblewrap and the GPU device files on its compute node."""

    bwrap: str
    gpu_device_dir: str
    # The job's working directory relative to /job (domain.jobs.working_dir_in_job).
    working_dir: str = ""


def job_env(spec: LaunchSpec, nodes: int, per_node: int) -> dict[str, str]:
    """The job's environment: its own, then neocloud's variables (which it cannot override)."""
    env = {
        **spec.env,
        "NEOCLOUD_JOB_ID": spec.job_id,
        "NEOCLOUD_ATTEMPT": str(spec.attempt),
        "NEOCLOUD_GPUS": str(per_node),
        "NEOCLOUD_NUM_NODES": str(nodes),
    }
    check_env_names(env)
    return env


def gpus_per_node(spec: LaunchSpec) -> int:
    """The GPU count of every node of the attempt (a gang gets the same on each)."""
    gpus = {len(slot.gpu_indices) for slot in spec.placement}
    if len(gpus) != 1:
        raise EngineError(
            f"placement: every node of a gang must get the same GPU count, got {sorted(gpus)}"
        )
    return gpus.pop()


def _rank(
    spec: LaunchSpec,
    attempt_dir: str,
    run_dir: str,
    sandbox: RankSandbox | None,
    env: dict[str, str],
) -> tuple[str, list[str]]:
    """What the script exports, and the command srun runs as each rank (sandboxed or not)."""
    if sandbox is None:
        exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
        rank = ["/bin/bash", "-c", _RANK_ENV, "neocloud-rank", run_dir, *spec.command]
    else:
        # The job's environment is in env.args, for the sandbox alone.
        exports = ""
        bwrap = bwrap_command(
            sandbox.bwrap,
            job_source=f"{run_dir}/{WORK}",
            working_dir=sandbox.working_dir,
            # Slurm jobs keep the node's network (docs/engines.md).
            host_network=True,
            device_args=["--args", str(_ARGS_FD)],
            program=spec.command,
            same_machine=False,
        )
        rank = [
            "/bin/bash",
            "-c",
            _RANK_SANDBOX,
            "neocloud-rank",
            run_dir,
            attempt_dir,
            sandbox.gpu_device_dir,
            *bwrap,
        ]
    return exports, rank


def batch_script(
    spec: LaunchSpec,
    attempt_dir: str,
    gpu_type: str,
    srun: str,
    scancel: str,
    sandbox: RankSandbox | None = None,
) -> str:
    """The bash script sbatch runs for this attempt (each rank sandboxed if `sandbox`)."""
    per_node = gpus_per_node(spec)
    run_dir = f"{attempt_dir}/{RUN}"
    nodes = len(spec.placement)
    exports, rank = _rank(spec, attempt_dir, run_dir, sandbox, job_env(spec, nodes, per_node))
    srun_args = [
        srun,
        "--export=ALL",
        f"--nodes={nodes}",
        f"--ntasks={nodes}",
        "--ntasks-per-node=1",
        f"--gres=gpu:{gpu_type}:{per_node}",
        # A gang ends as a whole: one failed rank stops the others.
        "--kill-on-bad-exit=1",
        *(["--label"] if nodes > 1 else []),
        *rank,
    ]
    q = shlex.quote
    return f"""#!/bin/bash
# neocloud job {spec.job_id}, attempt {spec.attempt}: written by neocloud's Slurm engine.
A={q(attempt_dir)}
R={q(run_dir)}
now() {{ date +%s.%N; }}
record() {{ echo "$2" > "$R/$1.tmp" && mv -f "$R/$1.tmp" "$R/$1"; }}
if [ -f "$A/{KILL_AT}" ]; then
  # Cancelled before it started: run nothing.
  record {EXIT} "143 $(now)"
  exit 143
fi
record {STARTED} "$SLURM_JOB_ID $(now)"
(
  while :; do
    touch "$R/{HEARTBEAT}"
    if [ -f "$A/{KILL_AT}" ] && read -r deadline _ < "$A/{KILL_AT}" \\
        && [ "$(date +%s)" -ge "$deadline" ]; then
      {q(scancel)} --signal=KILL "$SLURM_JOB_ID" 2>/dev/null
    fi
    sleep 0.5
  done
) &
beat=$!
# Slurm ends a job it cancels or times out with SIGTERM to this script too: note the instant.
trap 'kill "$beat" 2>/dev/null; record {EXIT} "143 $(now)"; exit 143' TERM
{exports}
{" ".join(q(a) for a in srun_args)} &
wait $!
rc=$?
kill "$beat" 2>/dev/null
record {EXIT} "$rc $(now)"
exit "$rc"
"""
