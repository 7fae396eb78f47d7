"""petri: sign in, submit experiment.yaml files, watch them, read logs and results."""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from petri_client import experiments_cli, schedules
from petri_client.client import FINAL_STATUSES, Client, PetriError
from petri_client.config import Config, load_config, read_yaml, save_config
from petri_client.pipeline_cli import add_pipeline_commands
from petri_client.render import progress_bars, result_rows, table

# Every key POST /api/experiments/ takes (webapp/api/tests checks the two stay alike).
EXPERIMENT_KEYS = {
    "name",
    "algorithm",
    "dataset",
    "artifact",
    "entrypoint",
    "parameter_schema",
    "parameters",
    "repeats",
    "priority",
    "resources",
    "max_attempts",
    "timeout",
    "retry_algorithm_errors",
    "backend",
    "objective",
    "objective_order",
    # searches (docs/search.md)
    "strategy",
    "objectives",
    "max_jobs",
    "parallelism",
    "max_failed",
    "goal",
    "max_seconds",
    "pruner",
    "seed",
}
FINISHED_EXPERIMENT = ("succeeded", "failed", "cancelled", "empty")
POLL_SECONDS = 1.0


def out(text: str = "") -> None:
    print(text, flush=True)


def cmd_login(args: argparse.Namespace) -> int:
    saved = load_config()
    url = args.url or input(f"Petri URL [{saved.url or 'http://127.0.0.1:8000'}]: ").strip()
    url = url or saved.url or "http://127.0.0.1:8000"
    username = args.username or input("Username: ").strip()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
    client = Client.login(url, username, password)
    path = save_config(Config(url=client.url, key=client.key))
    out(f"Signed in to {client.url} as {username}; token saved in {path}")
    return 0


def cmd_algorithms(args: argparse.Namespace, client: Client) -> int:
    rows = [[a["name"], a["language"], a["dataset_input"], a["title"]] for a in client.algorithms()]
    out(table(["name", "language", "dataset", "title"], rows))
    return 0


def cmd_datasets_upload(args: argparse.Namespace, client: Client) -> int:
    dataset = client.upload_dataset(args.file, args.name or "")
    shape = f"{dataset['rows']} rows × {len(dataset['columns'])} columns"
    out(f"dataset {dataset['id']}: {dataset['name']} ({shape})")
    return 0


def cmd_datasets_list(args: argparse.Namespace, client: Client) -> int:
    rows = [
        [d["id"], d["name"], d["rows"], len(d["columns"]), d["created_at"][:19]]
        for d in client.datasets()
    ]
    out(table(["id", "name", "rows", "columns", "created"], rows))
    return 0


def read_experiment_file(path: Path, client: Client) -> dict[str, Any]:
    """The experiment.yaml as the API's body; a dataset given as a path is uploaded first."""
    spec = read_yaml(path)
    if not isinstance(spec, dict):
        raise PetriError(f"{path} must be a mapping with at least `algorithm`")
    unknown = sorted(set(spec) - EXPERIMENT_KEYS)
    if unknown:
        raise PetriError(f"{path}: unknown keys {', '.join(unknown)}")
    dataset = spec.get("dataset")
    if isinstance(dataset, str) and not dataset.isdigit():
        file = (path.parent / dataset).expanduser()
        uploaded = client.upload_dataset(file, file.name)
        out(f"uploaded {file} as dataset {uploaded['id']}")
        spec["dataset"] = uploaded["id"]
    elif isinstance(dataset, str):
        spec["dataset"] = int(dataset)
    artifact = spec.get("artifact")
    if isinstance(artifact, str) and not artifact.isdigit():
        file = (path.parent / artifact).expanduser()
        uploaded = client.upload_artifact(file, file.name)
        out(f"uploaded {file} as artifact {uploaded['id']}")
        spec["artifact"] = uploaded["id"]
    elif isinstance(artifact, str):
        spec["artifact"] = int(artifact)
    return spec


def cmd_submit(args: argparse.Namespace, client: Client) -> int:
    spec = read_experiment_file(Path(args.file), client)
    experiment = client.submit(spec)
    out(f"experiment {experiment['id']}: {experiment['job_count']} jobs submitted")
    if not args.watch:
        return 0
    return watch(client, experiment["id"])


def watch(client: Client, experiment_id: int) -> int:
    """Redraw the bars in place on a terminal; elsewhere print them each time they change."""
    live = sys.stdout.isatty()
    shown: list[str] = []
    while True:
        experiment = client.experiment(experiment_id)
        bars = progress_bars(experiment["counts"])
        if bars != shown:
            if live and shown:
                sys.stdout.write(f"\x1b[{len(shown)}F\x1b[J")
            elif shown:
                out()
            out("\n".join(bars))
            shown = bars
        if experiment["status"] in FINISHED_EXPERIMENT:
            break
        time.sleep(POLL_SECONDS)
    out()
    print_results(client, experiment_id)
    status = experiment["status"]
    if status != "succeeded":
        counts = experiment["counts"]
        raise PetriError(
            f"experiment {experiment_id} {status}: {counts.get('failed', 0)} failed, "
            f"{counts.get('cancelled', 0)} cancelled of {experiment['job_count']} jobs"
        )
    out(f"experiment {experiment_id} succeeded")
    return 0


def print_results(client: Client, experiment_id: int) -> None:
    headers, rows = result_rows(client.jobs(experiment_id))
    out(table(headers, rows))


def cmd_status(args: argparse.Namespace, client: Client) -> int:
    experiment = client.experiment(args.id)
    out(
        f"experiment {experiment['id']} ({experiment['name']}, {experiment['algorithm']}): "
        f"{experiment['status']}, {experiment['progress'] * 100:.0f}% done"
    )
    counts = experiment["counts"]
    out("\n".join(progress_bars(counts)))
    if counts.get("waiting"):
        # The first page is enough to tell which quotas hold the queue back.
        first = client.request(
            "GET",
            "/api/jobs/",
            params={"experiment": args.id, "status": "waiting", "page_size": 1000},
        )
        waiting = first["results"]
        reasons = Counter(job.get("wait_reason") or "waiting: in the queue" for job in waiting)
        for reason, n in reasons.most_common():
            out(f"{n} {reason}")
    return 0


def cmd_logs(args: argparse.Namespace, client: Client) -> int:
    cursor = 0
    while True:
        page = client.log(args.job, cursor)
        for line in page["lines"]:
            out(line)
        cursor = page["cursor"]
        if page["more"]:
            continue
        if not args.follow or client.job(args.job)["status"] in FINAL_STATUSES:
            # A last read: lines that arrived between the page and the status check.
            if args.follow:
                tail = client.log(args.job, cursor)
                for line in tail["lines"]:
                    out(line)
            return 0
        time.sleep(POLL_SECONDS)


def cmd_cancel(args: argparse.Namespace, client: Client) -> int:
    if args.job:
        job = client.cancel_job(args.id)
        out(f"job {job['id']} is {job['status']}")
    else:
        answer = client.cancel_experiment(args.id)
        out(f"experiment {args.id}: {answer['cancelled']} jobs cancelled or cancelling")
    return 0


def cmd_results(args: argparse.Namespace, client: Client) -> int:
    if args.csv:
        return write_export(client, args.id, args.csv)
    headers, rows = result_rows(client.jobs(args.id))
    out(table(headers, rows))
    return 0


def cmd_export(args: argparse.Namespace, client: Client) -> int:
    return write_export(client, args.id, args.output)


def write_export(client: Client, experiment_id: int, target: str) -> int:
    """The API's export.csv, byte for byte: one CSV format wherever an experiment is exported."""
    content = client.export_csv(experiment_id)
    if target == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return 0
    try:
        Path(target).write_bytes(content)
    except OSError as exc:
        raise PetriError(f"cannot write {target}: {exc.strerror}") from None
    rows = sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8")))) - 1
    out(f"{max(rows, 0)} jobs written to {target}")
    return 0


def cmd_retry(args: argparse.Namespace, client: Client) -> int:
    if args.job:
        job = client.retry_job(args.id)
        out(f"job {job['id']} is {job['status']} (attempt {job['attempt']})")
    else:
        answer = client.retry_experiment(args.id)
        out(f"experiment {args.id}: {answer['retried']} failed jobs queued again")
    return 0


def cmd_compare(args: argparse.Namespace, client: Client) -> int:
    """The first job's graph against the truth, or against each of the other jobs' graphs."""
    others = [str(other) for other in args.others] or ["truth"]
    answers = [client.compare(args.job, other) for other in others]
    names: dict[str, None] = {}
    for answer in answers:
        names.update(dict.fromkeys(k for k, v in answer.items() if isinstance(v, int | float)))
    rows = [
        [args.job, other, *(answer.get(name) for name in names)]
        for other, answer in zip(others, answers, strict=True)
    ]
    out(table(["job", "with", *names], rows))
    return 0


def cmd_nodes(args: argparse.Namespace, client: Client) -> int:
    gib = 2**30
    rows = [
        [
            n["name"],
            f"{n['cpu_free']:g}/{n['cpu_allocatable']:g}",
            f"{n['memory_free'] / gib:.1f}/{n['memory_allocatable'] / gib:.1f}",
            f"{n['gpu_free']}/{n['gpu_allocatable']}",
        ]
        for n in client.nodes()
    ]
    out(table(["node", "cpu free", "memory free (GiB)", "gpu free"], rows))
    return 0


def cmd_usage(args: argparse.Namespace, client: Client) -> int:
    rows = [
        [u["month"], u["user"], u["attempts"], u["cpu_hours"], u["gpu_hours"], u["memory_gb_hours"]]
        for u in client.usage(args.user or "")
    ]
    out(table(["month", "user", "attempts", "cpu hours", "gpu hours", "GiB hours"], rows))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="petri", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = commands.add_parser("login", help="sign in and save the URL and an API token")
    login.add_argument("--url", help="the Petri server, e.g. http://127.0.0.1:8000")
    login.add_argument("--username")
    login.add_argument("--password-stdin", action="store_true", help="read the password on stdin")
    login.set_defaults(handler=cmd_login, anonymous=True)

    commands.add_parser("algorithms", help="the algorithm catalog").set_defaults(
        handler=cmd_algorithms
    )

    datasets = commands.add_parser("datasets", help="upload or list datasets")
    actions = datasets.add_subparsers(dest="action", required=True, metavar="ACTION")
    upload = actions.add_parser("upload", help="upload a CSV file")
    upload.add_argument("file")
    upload.add_argument("--name", help="defaults to the file's name")
    upload.set_defaults(handler=cmd_datasets_upload)
    actions.add_parser("list", help="your datasets").set_defaults(handler=cmd_datasets_list)

    submit = commands.add_parser("submit", help="submit an experiment.yaml")
    submit.add_argument("file", help="YAML: algorithm, dataset (id or CSV path), parameters...")
    submit.add_argument("--watch", action="store_true", help="follow it to the end")
    submit.set_defaults(handler=cmd_submit)

    status = commands.add_parser("status", help="an experiment's progress")
    status.add_argument("id", type=int, help="experiment id")
    status.set_defaults(handler=cmd_status)

    logs = commands.add_parser("logs", help="a job's log")
    logs.add_argument("job", type=int, help="job id")
    logs.add_argument("-f", "--follow", action="store_true", help="until the job ends")
    logs.set_defaults(handler=cmd_logs)

    cancel = commands.add_parser("cancel", help="cancel an experiment's unfinished jobs")
    cancel.add_argument("id", type=int, help="experiment id (job id with --job)")
    cancel.add_argument("--job", action="store_true", help="cancel one job")
    cancel.set_defaults(handler=cmd_cancel)

    results = commands.add_parser("results", help="an experiment's jobs, parameters and metrics")
    results.add_argument("id", type=int, help="experiment id")
    results.add_argument(
        "--csv", metavar="FILE", help="write the API's export.csv to FILE (- for stdout)"
    )
    results.set_defaults(handler=cmd_results)

    export = commands.add_parser("export", help="download an experiment's export.csv")
    export.add_argument("id", type=int, help="experiment id")
    export.add_argument(
        "-o", "--output", default="-", metavar="FILE", help="where to (default: stdout)"
    )
    export.set_defaults(handler=cmd_export)

    experiments_cli.add_commands(commands)

    retry = commands.add_parser("retry", help="queue an experiment's failed jobs again")
    retry.add_argument("id", type=int, help="experiment id (job id with --job)")
    retry.add_argument("--job", action="store_true", help="retry one failed or cancelled job")
    retry.set_defaults(handler=cmd_retry)

    compare = commands.add_parser(
        "compare", help="a job's graph against the truth or other jobs' graphs"
    )
    compare.add_argument("job", type=int, help="job id")
    compare.add_argument("others", type=int, nargs="*", help="job ids (default: the truth)")
    compare.set_defaults(handler=cmd_compare)

    commands.add_parser("nodes", help="nodes jobs can run on").set_defaults(handler=cmd_nodes)

    usage = commands.add_parser("usage", help="resources used per month")
    usage.add_argument("--user", help="staff only: another user")
    usage.set_defaults(handler=cmd_usage)

    schedules.add_commands(commands)
    add_pipeline_commands(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if getattr(args, "anonymous", False):
            return args.handler(args)
        if hasattr(args, "schedule_handler"):
            return args.schedule_handler(args, Client.from_config(), out)
        return args.handler(args, Client.from_config())
    except PetriError as exc:
        print(f"petri: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except EOFError:
        print("petri: no input", file=sys.stderr)
        return 1
