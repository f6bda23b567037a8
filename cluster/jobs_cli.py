"""`armillary job ...`: the argparse wiring of `cluster.jobs`."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from cluster.jobs import PRESETS, Jobs, JobsError, dumps, load_runtime_env
from config.cluster_record import read_record
from config.settings import Settings


def add_parser(sub: Any) -> None:
    job = sub.add_parser("job", help="Ray jobs on a cluster's job server").add_subparsers(
        dest="action", required=True
    )

    def with_address(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--address", default=None,
                       help="job server URL (default: the running suite's, else settings "
                            "ray_dashboard_url)")
        return p

    submit = with_address(job.add_parser(
        "submit", help="submit a job: ENTRYPOINT, or --preset NAME -- ARGS",
        description="presets: " + "; ".join(f"{k}: {v.module} {v.usage}"
                                            for k, v in PRESETS.items())))
    submit.add_argument("--preset", choices=sorted(PRESETS), default=None)
    submit.add_argument("--runtime-env", default=None, help="YAML/JSON runtime_env file")
    submit.add_argument("--wait", action="store_true", help="follow logs until it ends")
    submit.add_argument("entrypoint", nargs="*", help="command (or the preset's arguments)")
    with_address(job.add_parser("list", help="all jobs"))
    for name, text in (("status", "a job's status"), ("stop", "stop a job")):
        with_address(job.add_parser(name, help=text)).add_argument("job_id")
    logs = with_address(job.add_parser("logs", help="a job's logs"))
    logs.add_argument("job_id")
    logs.add_argument("--follow", "-f", action="store_true", help="stream until the job ends")


def connect_jobs(settings: Settings, address: str | None = None) -> Jobs:
    """The job server to talk to: ``address`` when given (token from the environment or
    ~/.ray/auth_token); else the running suite of this data_dir, with its token; else the
    external cluster of the settings (``ray_dashboard_url`` + ``ray_auth_token``)."""
    if address:
        return Jobs(address)
    record = read_record(settings.data_dir)
    if record is not None:
        return Jobs(record.dashboard_url, env={"RAY_AUTH_MODE": "token",
                                               "RAY_AUTH_TOKEN": record.token(settings.data_dir)})
    if settings.ray_address and settings.ray_auth_token is not None:
        return Jobs(settings.ray_dashboard_url, env={
            "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": settings.ray_auth_token.get_secret_value()})
    if not settings.ray_address:
        raise JobsError(f"the suite is not running for data_dir {settings.data_dir} (start it "
                        "with `armillary up`), and no --address or ARMILLARY_RAY_ADDRESS is set")
    return Jobs(settings.ray_dashboard_url)


def _sink(chunk: str) -> None:
    sys.stdout.write(chunk)
    sys.stdout.flush()


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return _run(args, settings)
    except JobsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "submit":
        parts = list(args.entrypoint)
        if parts[:1] == ["--"]:
            parts = parts[1:]
        if not args.preset and not parts:
            raise JobsError("nothing to run: give an ENTRYPOINT or --preset NAME")
        runtime_env = load_runtime_env(args.runtime_env) if args.runtime_env else None
    jobs = connect_jobs(settings, args.address)
    if args.action == "submit":
        if args.preset:
            job_id = jobs.submit_preset(args.preset, parts, runtime_env)
        else:
            entrypoint = parts[0] if len(parts) == 1 else shlex.join(parts)
            job_id = jobs.submit(entrypoint, runtime_env)
        print(job_id, flush=True)
        if args.wait:
            state = jobs.follow(job_id, _sink)
            print(f"\n{job_id}: {state}", file=sys.stderr)
            return 0 if state == "SUCCEEDED" else 1
        return 0
    if args.action == "list":
        print(dumps(jobs.list()))
        return 0
    if args.action == "status":
        print(dumps(jobs.info(args.job_id)))
        return 0
    if args.action == "logs":
        if args.follow:
            state = jobs.follow(args.job_id, _sink)
            print(f"\n{args.job_id}: {state}", file=sys.stderr)
        else:
            _sink(jobs.logs(args.job_id))
        return 0
    if args.action == "stop":
        stopped = jobs.stop(args.job_id)
        print(f"{args.job_id}: {'stop requested' if stopped else 'already finished'}")
        return 0
    return 2
