"""``petri list`` and ``petri experiment ...``: find, rename, note, tag, archive, extend, delete."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from petri_client.client import Client, PetriError
from petri_client.render import table


def out(text: str = "") -> None:
    print(text, flush=True)


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    filters: dict[str, Any] = {}
    if args.tag:
        filters["tag"] = args.tag
    if args.archived:
        filters["archived"] = "true"
    # An experiment's status is derived from its jobs' counts; the API does not filter by it.
    experiments = [
        e for e in client.experiments(**filters) if not args.status or e["status"] == args.status
    ]
    rows = [
        [
            e["id"],
            e["name"],
            e["algorithm"],
            e["status"],
            e["job_count"],
            f"{e['progress'] * 100:.0f}%",
            ",".join(e.get("tags", [])),
            e["created_at"][:19],
        ]
        for e in experiments
    ]
    headers = ["id", "name", "algorithm", "status", "jobs", "done", "tags", "created"]
    out(table(headers, rows))
    return 0


def cmd_rename(args: argparse.Namespace, client: Client) -> int:
    experiment = client.update_experiment(args.id, name=args.name)
    out(f"experiment {experiment['id']} is now named {experiment['name']!r}")
    return 0


def cmd_notes(args: argparse.Namespace, client: Client) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    client.update_experiment(args.id, notes=text)
    out(f"experiment {args.id}: notes saved ({len(text)} characters)")
    return 0


def cmd_tag(args: argparse.Namespace, client: Client) -> int:
    tags = list(client.experiment(args.id).get("tags", []))
    if args.remove:
        missing = [tag for tag in args.tags if tag not in tags]
        if missing:
            raise PetriError(f"experiment {args.id} has no tag {', '.join(missing)}")
        tags = [tag for tag in tags if tag not in args.tags]
    else:
        tags += [tag for tag in args.tags if tag not in tags]
    experiment = client.update_experiment(args.id, tags=tags)
    out(f"experiment {args.id} tags: {', '.join(experiment['tags']) or '(none)'}")
    return 0


def cmd_archive(args: argparse.Namespace, client: Client) -> int:
    client.update_experiment(args.id, archived=not args.undo)
    where = "back on the list" if args.undo else "archived (petri list --archived shows it)"
    out(f"experiment {args.id} is {where}")
    return 0


def cmd_delete(args: argparse.Namespace, client: Client) -> int:
    experiment = client.experiment(args.id)
    if not args.yes:
        answer = input(
            f"Delete experiment {args.id} ({experiment['name']}) with its "
            f"{experiment['job_count']} jobs, results and files? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            out("not deleted")
            return 1
    client.delete_experiment(args.id)
    out(f"experiment {args.id} deleted")
    return 0


def parse_values(pairs: list[str]) -> dict[str, Any]:
    """``x=3,4`` (a list), ``x=3`` or ``'x={start: 0, stop: 1, step: 0.5}'``, read as YAML."""
    import yaml

    parameters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise PetriError(f"--values {pair!r}: write NAME=VALUES, e.g. alpha=0.01,0.1")
        try:
            value = yaml.safe_load(raw)
            if isinstance(value, str) and "," in value:
                value = [yaml.safe_load(part) for part in value.split(",")]
        except yaml.YAMLError:
            raise PetriError(f"--values {pair!r}: {raw!r} is not a value or a list") from None
        parameters[name.strip()] = value
    return parameters


def cmd_extend(args: argparse.Namespace, client: Client) -> int:
    parameters = parse_values(args.values) if args.values else None
    answer = client.extend_experiment(args.id, parameters=parameters, repeats=args.repeats)
    total = answer["experiment"]["job_count"]
    out(f"experiment {args.id}: {answer['added']} jobs added ({total} in all)")
    return 0


def cmd_retry(args: argparse.Namespace, client: Client) -> int:
    answer = client.retry_experiment(args.id)
    out(f"experiment {args.id}: {answer['retried']} failed jobs queued again")
    return 0


def add_commands(commands: Any) -> None:
    """``list`` and the ``experiment`` group, on the top parser's subcommands."""
    listing = commands.add_parser("list", help="your experiments and those shared with you")
    listing.add_argument("--status", help="only experiments in this status, e.g. running")
    listing.add_argument("--tag", help="only experiments with this tag")
    listing.add_argument("--archived", action="store_true", help="the archived ones instead")
    listing.set_defaults(handler=cmd_list)

    group = commands.add_parser("experiment", help="rename, note, tag, archive, extend, delete")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help: str, handler: Any) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help)
        sub.add_argument("id", type=int, help="experiment id")
        sub.set_defaults(handler=handler)
        return sub

    action("rename", "give it a new name", cmd_rename).add_argument("name")
    action("notes", "replace its notes", cmd_notes).add_argument("text", help="- reads stdin")
    tag = action("tag", "add tags (or --remove them)", cmd_tag)
    tag.add_argument("tags", nargs="+", metavar="TAG")
    tag.add_argument("--remove", action="store_true", help="remove these tags instead")
    archive = action("archive", "hide it from the default list", cmd_archive)
    archive.add_argument("--undo", action="store_true", help="bring it back to the list")
    delete = action("delete", "delete it with its jobs, results and files", cmd_delete)
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask to confirm")
    extend = action("extend", "add values or repeats; only new points run", cmd_extend)
    extend.add_argument(
        "--values",
        action="append",
        metavar="NAME=VALUES",
        help="values to add, e.g. alpha=0.2,0.3 (repeat for several parameters)",
    )
    extend.add_argument("--repeats", type=int, help="the new number of repeats")
    action("retry", "queue every failed job again", cmd_retry)
