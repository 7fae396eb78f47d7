"""petri pipeline: submit a pipeline.yaml, watch its stages, read its compare table."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from petri_client.client import Client, PetriError
from petri_client.config import read_yaml
from petri_client.render import table

POLL_SECONDS = 1.0
SCORES = ("shd", "precision", "recall", "f1", "orientation_f1")


def out(text: str = "") -> None:
    print(text, flush=True)


def read_pipeline_file(path: Path, client: Client) -> dict[str, Any]:
    """The pipeline.yaml as the API's body; a stage's dataset or artifact path is uploaded."""
    spec = read_yaml(path)
    if not isinstance(spec, dict) or not isinstance(spec.get("stages"), list):
        raise PetriError(f"{path} must be a mapping with a list of `stages`")
    for stage in spec["stages"]:
        if not isinstance(stage, dict):
            continue
        for key, upload in (
            ("dataset", client.upload_dataset),
            ("artifact", client.upload_artifact),
        ):
            value = stage.get(key)
            if isinstance(value, str) and not value.isdigit():
                file = (path.parent / value).expanduser()
                uploaded = upload(file, file.name)
                out(f"uploaded {file} as {key} {uploaded['id']}")
                stage[key] = uploaded["id"]
            elif isinstance(value, str):
                stage[key] = int(value)
    return spec


def stage_lines(pipeline: dict[str, Any]) -> list[str]:
    rows = []
    for stage in pipeline["stages"]:
        experiments = stage.get("experiments", [])
        ended = sum(e["status"] in ("succeeded", "failed", "cancelled") for e in experiments)
        what = stage["algorithm"] or stage["kind"]
        rows.append(
            [stage["name"], what, stage["status"], f"{ended}/{len(experiments)}", stage["error"]]
        )
    return table(["stage", "runs", "status", "experiments", "note"], rows).splitlines()


def print_table(pipeline: dict[str, Any]) -> None:
    for stage in pipeline["stages"]:
        if stage["kind"] == "compare" and stage.get("result"):
            result = stage["result"]
            rows = [
                [
                    row["algorithm"],
                    row["dataset"]["name"] or row["dataset"]["id"],
                    row["job"],
                    *(row.get(name) for name in SCORES),
                    row["problem"],
                ]
                for row in result["rows"]
            ]
            out(f"{stage['name']}:")
            out(table(["algorithm", "dataset", "job", *SCORES, "problem"], rows))


def watch(client: Client, pipeline_id: int) -> int:
    """Print the stages each time they change; the compare table at the end."""
    live = sys.stdout.isatty()
    shown: list[str] = []
    while True:
        pipeline = client.pipeline(pipeline_id)
        lines = stage_lines(pipeline)
        if lines != shown:
            if live and shown:
                sys.stdout.write(f"\x1b[{len(shown)}F\x1b[J")
            elif shown:
                out()
            out("\n".join(lines))
            shown = lines
        if pipeline["status"] != "running":
            break
        time.sleep(POLL_SECONDS)
    out()
    print_table(pipeline)
    if pipeline["status"] != "succeeded":
        raise PetriError(f"pipeline {pipeline_id} {pipeline['status']}")
    out(f"pipeline {pipeline_id} succeeded")
    return 0


def cmd_submit(args: argparse.Namespace, client: Client) -> int:
    pipeline = client.submit_pipeline(read_pipeline_file(Path(args.file), client))
    out(f"pipeline {pipeline['id']}: {len(pipeline['stages'])} stages submitted")
    return watch(client, pipeline["id"]) if args.watch else 0


def cmd_status(args: argparse.Namespace, client: Client) -> int:
    if args.watch:
        return watch(client, args.id)
    pipeline = client.pipeline(args.id)
    out(f"pipeline {pipeline['id']} ({pipeline['name']}): {pipeline['status']}")
    out("\n".join(stage_lines(pipeline)))
    return 0


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    rows = [
        [p["id"], p["name"], p["status"], len(p["stages"]), p["created_at"][:19]]
        for p in client.pipelines()
    ]
    out(table(["id", "name", "status", "stages", "created"], rows))
    return 0


def cmd_cancel(args: argparse.Namespace, client: Client) -> int:
    out(f"pipeline {args.id} is {client.cancel_pipeline(args.id)['status']}")
    return 0


def cmd_retry(args: argparse.Namespace, client: Client) -> int:
    pipeline = client.retry_pipeline(args.id)
    again = [s["name"] for s in pipeline["stages"] if s["status"] in ("pending", "running")]
    out(f"pipeline {args.id} is {pipeline['status']} again: {', '.join(again)}")
    return 0


def cmd_table(args: argparse.Namespace, client: Client) -> int:
    answer = client.pipeline_table(args.id, args.stage or "")
    print_table({"stages": [{"kind": "compare", "name": answer["stage"], "result": answer}]})
    return 0


def add_pipeline_commands(commands: Any) -> None:
    """`petri pipeline ACTION`, added to the CLI's subcommands."""
    pipeline = commands.add_parser("pipeline", help="submit, watch, cancel or retry pipelines")
    actions = pipeline.add_subparsers(dest="action", required=True, metavar="ACTION")
    submit = actions.add_parser("submit", help="submit a pipeline.yaml")
    submit.add_argument("file", help="YAML: name and stages (docs/pipelines.md)")
    submit.add_argument("--watch", action="store_true", help="follow it to the end")
    submit.set_defaults(handler=cmd_submit)
    status = actions.add_parser("status", help="a pipeline's stages")
    status.add_argument("id", type=int, help="pipeline id")
    status.add_argument("--watch", action="store_true", help="follow it to the end")
    status.set_defaults(handler=cmd_status)
    actions.add_parser("list", help="your pipelines").set_defaults(handler=cmd_list)
    for name, handler, text in (
        ("cancel", cmd_cancel, "cancel its running experiments and the stages not yet run"),
        ("retry", cmd_retry, "run again every stage that did not succeed"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("id", type=int, help="pipeline id")
        action.set_defaults(handler=handler)
    compare = actions.add_parser("table", help="a compare stage's table")
    compare.add_argument("id", type=int, help="pipeline id")
    compare.add_argument("--stage", help="which compare stage (default: the last)")
    compare.set_defaults(handler=cmd_table)
