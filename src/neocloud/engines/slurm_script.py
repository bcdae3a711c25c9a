"""The batch script of one attempt on Slurm, and the files through which it reports.

The script runs the job's command with `srun`, one task per node neocloud placed it on (a gang
of N nodes is one step of N tasks), so a preemption notice sent to the job's steps
(`scancel --signal=TERM`) reaches the command on every node while the script itself lives on to
record the end. The script runs as the org's unprivileged user (`sbatch --uid`), so it writes
only in the attempt's `run/` directory, which that user owns (see `slurm.py`):

- `started`    `<slurm job id> <epoch seconds>` just before srun starts the command
- `rank-<r>.started`  `<epoch seconds>` as rank r's command starts (srun may take a while)
- `heartbeat`  touched twice a second while it lives: the last sign of life if the node dies
- `exit`       `<exit status> <epoch seconds>` once every task has ended

and it SIGKILLs the job once the deadline in `kill_at` (written by the engine when it cancels, in
the attempt directory the job can read but not change) has passed, so the grace ends on time even
while the control plane is down. (`scancel --signal=KILL` cancels the whole job in Slurm; the
script then gets SIGTERM and records that instant as the end.)
"""

from __future__ import annotations

import shlex

from neocloud.engines.base import EngineError, LaunchSpec
from neocloud.engines.placement import check_env_names

RUN = "run"
STARTED = "started"
HEARTBEAT = "heartbeat"
EXIT = "exit"
KILL_AT = "kill_at"
OUTPUT = "output.log"
SCRIPT = "job.sh"

# Exported last, so a job cannot spoof its identity. Per-rank values come from srun's variables.
# Each rank also stamps the instant its command starts: usage counts from the first of them.
_RANK_ENV = (
    'date +%s.%N > "$1/rank-$SLURM_PROCID.started"; shift; '
    'export NEOCLOUD_NODE_RANK="$SLURM_PROCID" NEOCLOUD_NODE_NAME="$SLURMD_NODENAME"; exec "$@"'
)
RANK_STARTED = "rank-*.started"


def batch_script(spec: LaunchSpec, attempt_dir: str, gpu_type: str, srun: str, scancel: str) -> str:
    """The bash script sbatch runs for this attempt."""
    gpus = {len(slot.gpu_indices) for slot in spec.placement}
    if len(gpus) != 1:
        raise EngineError(
            f"placement: every node of a gang must get the same GPU count, got {sorted(gpus)}"
        )
    per_node = gpus.pop()
    run_dir = f"{attempt_dir}/{RUN}"
    nodes = len(spec.placement)
    env = {
        **spec.env,
        "NEOCLOUD_JOB_ID": spec.job_id,
        "NEOCLOUD_ATTEMPT": str(spec.attempt),
        "NEOCLOUD_GPUS": str(per_node),
        "NEOCLOUD_NUM_NODES": str(nodes),
    }
    check_env_names(env)
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
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
        "/bin/bash",
        "-c",
        _RANK_ENV,
        "neocloud-rank",
        run_dir,
        *spec.command,
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
