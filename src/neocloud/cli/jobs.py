"""`neocloud jobs`: submit work, follow it, read its logs, cancel it."""

from __future__ import annotations

from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import console, print_fields, print_json, print_table
from neocloud.cli.parse import parse_duration, parse_env
from neocloud.domain.jobs import JobState, PriorityClass, Tier
from neocloud.schemas.jobs import Job

app = typer.Typer(help="Jobs: submit, watch, logs, cancel.", no_args_is_help=True)

WAIT_POLL_SECONDS = 1.0
FOLLOW_POLL_SECONDS = 0.5


def gpus(job: Job) -> str:
    """`2 h100` for one node, `2×8 h100` for a gang."""
    if job.nodes == 1:
        return f"{job.gpus_per_node} {job.gpu_type}"
    return f"{job.nodes}×{job.gpus_per_node} {job.gpu_type}"


def _job_rows(jobs: list[Job]) -> None:
    print_table(
        ["ID", "NAME", "ORG", "TIER", "GPUS", "STATE", "REASON", "CREATED"],
        [[j.id, j.name, j.org_id, j.tier, gpus(j), j.state, j.reason, j.created_at] for j in jobs],
    )


@app.command(
    "submit",
    context_settings={"allow_interspersed_args": False},
    no_args_is_help=True,
)
def submit(
    ctx: typer.Context,
    command: Annotated[list[str], typer.Argument(metavar="CMD")],
    gpu_type: Annotated[str, typer.Option("--gpu-type", help="e.g. h100.")],
    gpus_per_node: Annotated[int, typer.Option("--gpus", help="GPUs per node.", min=1)],
    tier: Annotated[Tier, typer.Option("--tier")],
    nodes: Annotated[int, typer.Option("--nodes", help="Nodes, all at once.", min=1)] = 1,
    priority: Annotated[
        PriorityClass | None, typer.Option("--priority", help="Internal tier only.")
    ] = None,
    max_runtime: Annotated[
        int | None,
        typer.Option("--max-runtime", parser=parse_duration, metavar="DURATION", help="e.g. 1h."),
    ] = None,
    grace: Annotated[
        int | None,
        typer.Option("--grace", parser=parse_duration, metavar="DURATION", help="e.g. 30s."),
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", metavar="K=V", help="Repeat for more.")
    ] = None,
    workdir: Annotated[
        str | None,
        typer.Option("--workdir", help="Inside the job's own directory: relative, or under /job."),
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project id or name.")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Operator: on behalf of.")] = None,
    requeue: Annotated[
        bool,
        typer.Option(
            "--requeue/--no-requeue", help="Requeue if preempted or its node fails or drains."
        ),
    ] = True,
    max_attempts: Annotated[
        int | None,
        typer.Option(
            "--max-attempts", min=1, max=1000, help="Attempts in all, the first included."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Submit a job: options first, then `--` and the command."""
    try:
        environment = parse_env(env or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--env") from None
    job = client(ctx).jobs.submit(
        command,
        gpu_type=gpu_type,
        gpus_per_node=gpus_per_node,
        nodes=nodes,
        tier=tier,
        priority_class=priority,
        max_runtime_seconds=max_runtime,
        grace_seconds=grace,
        env=environment or None,
        working_dir=workdir,
        requeue_on_preemption=requeue,
        max_attempts=max_attempts,
        project=project,
        name=name,
        org=org,
    )
    if wants_json(ctx, as_json):
        print_json(job)
    else:
        _job_rows([job])


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    state: Annotated[JobState | None, typer.Option("--state")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this org.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List jobs."""
    jobs = list(client(ctx).jobs.iter(state=state, org=org))
    if wants_json(ctx, as_json):
        print_json(jobs)
    else:
        _job_rows(jobs)


@app.command("why")
def why(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonFlag = False,
) -> None:
    """Why a job is where it is: its reason now, and every preemption with its cause and rule."""
    api = client(ctx)
    job = api.jobs.get(job_id)
    preemptions = [
        {
            "at": e.at.isoformat(),
            "by_job": e.details.get("by_job"),
            "rule": e.details.get("rule"),
            "grace_seconds": e.details.get("grace_seconds"),
        }
        for e in api.jobs.events(job_id)
        if e.reason == "preemption_notice"
    ]
    if wants_json(ctx, as_json):
        print_json(
            {
                "job_id": job.id,
                "state": job.state.value,
                "reason": job.reason,
                "message": job.message,
                "preemptions": preemptions,
            }
        )
        return
    typer.echo(f"{job.id} is {job.state}: {job.reason or '-'}")
    if job.message:
        typer.echo(f"  {job.message}")
    if preemptions:
        print_table(
            ["PREEMPTED AT", "BY JOB", "RULE", "GRACE"],
            [[p["at"], p["by_job"], p["rule"], f"{p['grace_seconds']}s"] for p in preemptions],
            title="Preemptions",
        )


@app.command("show")
def show(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonFlag = False,
) -> None:
    """One job: where it stands, why it waits, where it runs."""
    job = client(ctx).jobs.get(job_id)
    if wants_json(ctx, as_json):
        print_json(job)
        return
    print_fields(
        [
            ("id", job.id),
            ("name", job.name),
            ("org", job.org_id),
            ("project", job.project_id),
            ("command", " ".join(job.command)),
            ("gpus", gpus(job)),
            ("tier", job.tier),
            ("priority", job.priority_class),
            ("state", job.state),
            ("reason", job.reason),
            ("message", job.message),
            ("exit code", job.exit_code),
            ("attempts", job.attempts),
            ("max runtime", f"{job.max_runtime_seconds}s"),
            ("grace", f"{job.grace_seconds}s"),
            ("requeue on preemption", job.requeue_on_preemption),
            ("max attempts", job.max_attempts if job.max_attempts is not None else "no limit"),
            ("created", job.created_at),
            ("started", job.started_at),
            ("ended", job.ended_at),
        ]
    )
    if job.allocations:
        print_table(
            ["ALLOCATION", "NODE", "GPUS", "STARTED", "ENDED"],
            [
                [a.id, a.node, ",".join(map(str, a.gpu_indices)), a.started_at, a.ended_at]
                for a in job.allocations
            ],
        )


@app.command("events")
def events(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonFlag = False,
) -> None:
    """Every recorded transition of a job."""
    found = client(ctx).jobs.events(job_id)
    if wants_json(ctx, as_json):
        print_json(found)
        return
    print_table(
        ["SEQ", "AT", "FROM", "TO", "REASON", "MESSAGE"],
        [[e.seq, e.at, e.from_state, e.to_state, e.reason, e.message] for e in found],
    )


@app.command("logs")
def logs(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print a job's output (`--json`: one JSON chunk per line)."""
    chunks = client(ctx).jobs.iter_logs(job_id, follow=follow, poll_interval=FOLLOW_POLL_SECONDS)
    for chunk in chunks:
        if wants_json(ctx, as_json):
            typer.echo(chunk.model_dump_json())
        else:
            typer.echo(chunk.data, nl=False)


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonFlag = False,
) -> None:
    """Cancel a job (a running one gets its grace period)."""
    job = client(ctx).jobs.cancel(job_id)
    if wants_json(ctx, as_json):
        print_json(job)
    else:
        _job_rows([job])


@app.command("wait")
def wait(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    timeout: Annotated[
        int | None,
        typer.Option("--timeout", parser=parse_duration, metavar="DURATION", help="Give up after."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Wait for a job to finish; exit 0 if it succeeded, 1 otherwise."""
    with console(stderr=True).status(f"{job_id}: waiting") as status:

        def show_state(job: Job) -> None:
            why = f" ({job.reason})" if job.reason and job.state is JobState.PENDING else ""
            status.update(f"{job.id}: {job.state}{why}")

        job = client(ctx).jobs.wait(
            job_id, timeout=timeout, poll_interval=WAIT_POLL_SECONDS, on_update=show_state
        )
    if wants_json(ctx, as_json):
        print_json(job)
    else:
        exit_code = "" if job.exit_code is None else f" (exit code {job.exit_code})"
        message = f": {job.message}" if job.message else ""
        typer.echo(f"{job.id} {job.state}{exit_code}{message}")
    if job.state is not JobState.SUCCEEDED:
        raise typer.Exit(1)
