"""`petri schedule ...`: run an experiment again on a cron expression or an interval."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from petri_client.client import Client
from petri_client.render import table


def _when(schedule: dict) -> str:
    return schedule["cron"] or f"every {schedule['every_seconds']} s"


def _template(schedule: dict) -> str:
    if schedule.get("pipeline"):
        return f"pipeline {schedule['pipeline']}"
    return f"experiment {schedule['experiment']}"


def _made(firing: dict) -> str:
    if firing.get("pipeline"):
        return f"pipeline {firing['pipeline']}"
    return f"experiment {firing['experiment']}"


def cmd_create(args: argparse.Namespace, client: Client, out: Callable[[str], None]) -> int:
    when = {"cron": args.cron} if args.cron else {"every_seconds": args.every}
    what = {"pipeline_id": args.id} if args.pipeline else {"experiment_id": args.id}
    made = client.create_schedule(**what, newest_datasets=args.newest_datasets, **when)
    out(f"Schedule {made['id']}: {_template(made)} {_when(made)}; "
        f"next run {made['next_run_at']}")  # fmt: skip
    return 0


def cmd_list(args: argparse.Namespace, client: Client, out: Callable[[str], None]) -> int:
    rows = []
    for s in client.schedules():
        last = (s["recent_firings"] or [{}])[0]
        outcome = last.get("skipped") or (_made(last) if last else "")
        rows.append([s["id"], _template(s), _when(s), "yes" if s["enabled"] else "paused",
                     s["next_run_at"] or "", outcome])  # fmt: skip
    out(table(["id", "runs again", "when", "enabled", "next run", "last firing"], rows))
    return 0


def _update(**changes: object) -> Callable[..., int]:
    def handler(args: argparse.Namespace, client: Client, out: Callable[[str], None]) -> int:
        updated = client.update_schedule(args.id, **changes)
        out(f"Schedule {updated['id']} is {'on' if updated['enabled'] else 'paused'}.")
        return 0

    return handler


def cmd_delete(args: argparse.Namespace, client: Client, out: Callable[[str], None]) -> int:
    client.delete_schedule(args.id)
    out(f"Schedule {args.id} deleted; the runs it made stay.")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    schedule = commands.add_parser("schedule", help="run an experiment again on a clock")
    actions = schedule.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="schedule an experiment (or pipeline) of yours")
    create.add_argument("id", type=int, help="experiment id (pipeline id with --pipeline)")
    create.add_argument("--pipeline", action="store_true", help="the id is a pipeline's")
    when = create.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='five fields, UTC, e.g. "0 3 * * *"')
    when.add_argument("--every", type=int, metavar="SECONDS", help="an interval in seconds")
    create.add_argument(
        "--newest-datasets", action="store_true", help="re-query an SQL dataset before each run"
    )
    create.set_defaults(schedule_handler=cmd_create)
    actions.add_parser("list", help="your schedules").set_defaults(schedule_handler=cmd_list)
    for name, handler, text in (
        ("pause", _update(enabled=False), "stop firing until resumed"),
        ("resume", _update(enabled=True), "fire again"),
        ("delete", cmd_delete, "remove it (the runs it made stay)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("id", type=int, help="schedule id")
        action.set_defaults(schedule_handler=handler)
