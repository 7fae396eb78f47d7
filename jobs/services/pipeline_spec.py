"""A pipeline spec, checked whole before anything runs: every error names its stage and field.

Each experiment stage is checked by submit_experiment itself (``validate_only``), so a stage
that passes here is refused later only if the world changed (a quota, a disabled algorithm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jobs.errors import InvalidInput
from jobs.models import Algorithm, Artifact, Dataset, DatasetInput, Stage
from jobs.services.artifacts import artifact_algorithm
from jobs.services.submit import submit_experiment
from jobs.sweeps import NodeLister
from jobs.validators import nul_problem

MAX_STAGES = 50
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# What submit_experiment takes from a stage as it is.
TEMPLATE_KEYS = (
    "parameters",
    "repeats",
    "priority",
    "resources",
    "max_attempts",
    "timeout",
    "retry_algorithm_errors",
    "objective",
    "objective_order",
    "backend",
)
ARTIFACT_KEYS = ("artifact", "entrypoint", "parameter_schema")
EXPERIMENT_KEYS = frozenset(
    {"name", "type", "algorithm", "dataset", "inputs", "needs", "on_failure"}
    | set(TEMPLATE_KEYS)
    | set(ARTIFACT_KEYS)
)
COMPARE_KEYS = frozenset({"name", "type", "needs", "on_failure"})
INPUT_KINDS = ("dataset", "parameters")
ARTICLE = {Stage.Kind.EXPERIMENT: "an", Stage.Kind.COMPARE: "a"}


@dataclass
class StagePlan:
    """One checked stage, ready to be written as a Stage row."""

    name: str
    kind: str
    needs: list[str]
    on_failure: str = Stage.OnFailure.STOP
    algorithm: Algorithm | None = None
    dataset: Dataset | None = None
    template: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)


class _Errors:
    def __init__(self) -> None:
        self.top: dict[str, Any] = {}
        self.stages: dict[str, dict[str, list[str]]] = {}

    def add(self, stage: str, field_name: str, message: str) -> None:
        self.stages.setdefault(stage, {}).setdefault(field_name, []).append(message)

    def raise_any(self) -> None:
        errors = dict(self.top)
        if self.stages:
            errors["stages"] = self.stages
        if errors:
            raise InvalidInput(errors)


def _label(raw: Any, index: int) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and NAME.match(name) else f"#{index + 1}"


def _input_ref(value: Any) -> tuple[str | None, str | None]:
    """(stage, file) of an input written as "stage" or {"stage": ..., "file": ...}."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and set(value) <= {"stage", "file"} and "stage" in value:
        stage, file = value["stage"], value.get("file")
        if isinstance(stage, str) and (file is None or (isinstance(file, str) and file)):
            return stage, file
    return None, None


def _parse_stage(raw: Any, label: str, errors: _Errors) -> StagePlan | None:
    """The stage's shape, without looking at other stages or the database."""
    if not isinstance(raw, dict):
        errors.add(label, "stage", "must be an object")
        return None
    kind = raw.get("type", Stage.Kind.EXPERIMENT)
    if kind not in Stage.Kind.values:
        errors.add(label, "type", f"must be one of {', '.join(Stage.Kind.values)}")
        return None
    if not isinstance(raw.get("name"), str) or not NAME.match(raw["name"]):
        errors.add(label, "name", "must be lower-case letters, digits, - or _ (at most 63)")
    allowed = COMPARE_KEYS if kind == Stage.Kind.COMPARE else EXPERIMENT_KEYS
    for key in sorted(set(raw) - allowed, key=str):
        errors.add(label, str(key)[:100], f"is not a field of {ARTICLE[kind]} {kind} stage")
    needs = raw.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        errors.add(label, "needs", "must be a list of stage names")
        needs = []
    on_failure = raw.get("on_failure", Stage.OnFailure.STOP)
    if on_failure not in Stage.OnFailure.values:
        errors.add(label, "on_failure", "must be 'stop' or 'continue'")
    plan = StagePlan(name=label, kind=kind, needs=list(dict.fromkeys(needs)), on_failure=on_failure)
    if kind == Stage.Kind.COMPARE:
        if not needs:
            errors.add(label, "needs", "a compare stage must name the stages whose jobs it scores")
        return plan
    inputs = raw.get("inputs", {})
    if not isinstance(inputs, dict):
        errors.add(label, "inputs", "must be an object")
        inputs = {}
    for key, value in inputs.items():
        if key not in INPUT_KINDS:
            errors.add(label, f"inputs.{key}"[:100], "is not an input (dataset, parameters)")
            continue
        stage, file = _input_ref(value)
        if stage is None or (key == "parameters" and file is not None):
            shape = '"stage" or {"stage": ..., "file": ...}' if key == "dataset" else '"stage"'
            errors.add(label, f"inputs.{key}", f"must be {shape}")
            continue
        plan.inputs[key] = {"stage": stage, **({"file": file} if file else {})}
    plan.template = {key: raw[key] for key in TEMPLATE_KEYS if key in raw}
    # What the experiments' serializer checks before submit_experiment sees it.
    objective = plan.template.get("objective", "")
    if not isinstance(objective, str) or len(objective) > 100:
        errors.add(label, "objective", "must be a metric's name (at most 100 characters)")
    if plan.template.get("objective_order", "max") not in ("min", "max"):
        errors.add(label, "objective_order", "must be 'min' or 'max'")
    if not isinstance(plan.template.get("backend", ""), str):
        errors.add(label, "backend", "must be a string")
    if not isinstance(plan.template.get("retry_algorithm_errors", False), bool):
        errors.add(label, "retry_algorithm_errors", "must be true or false")
    return plan


def _check_references(plans: list[StagePlan], errors: _Errors) -> list[StagePlan]:
    """Unknown stages, inputs a stage cannot take, and cycles; returns the stages in order."""
    by_name = {plan.name: plan for plan in plans}
    edges: dict[str, list[tuple[str, str]]] = {}
    for plan in plans:
        refs = [("needs", name) for name in plan.needs]
        refs += [(f"inputs.{key}", value["stage"]) for key, value in plan.inputs.items()]
        edges[plan.name] = []
        for field_name, ref in refs:
            if ref not in by_name:
                errors.add(plan.name, field_name, f"stage {ref!r} does not exist")
            elif ref == plan.name:
                errors.add(plan.name, field_name, "a stage cannot take its own output")
            else:
                edges[plan.name].append((field_name, ref))
        upstream = [by_name[ref] for _, ref in edges[plan.name]]
        if plan.kind == Stage.Kind.COMPARE:
            for other in upstream:
                if other.kind == Stage.Kind.COMPARE:
                    errors.add(plan.name, "needs", f"{other.name!r} is a compare stage, no jobs")
        plan.needs = list(dict.fromkeys(ref for _, ref in edges[plan.name]))
    ordered: list[StagePlan] = []
    done: set[str] = set()
    while len(ordered) < len(plans):
        ready = [
            p for p in plans if p.name not in done and all(r in done for _, r in edges[p.name])
        ]
        if not ready:
            break
        ordered += ready
        done |= {p.name for p in ready}
    for plan in plans:
        if plan.name not in done:
            for field_name, ref in edges[plan.name]:
                if ref not in done:
                    errors.add(plan.name, field_name, f"forms a cycle through stage {ref!r}")
    return ordered


def _algorithm(owner: Any, raw: dict, plan: StagePlan, errors: _Errors) -> Algorithm | None:
    if "artifact" in raw:
        if "algorithm" in raw:
            errors.add(plan.name, "algorithm", "give an algorithm or an artifact, not both")
            return None
        artifact = Artifact.objects.filter(owner=owner, pk=_int(raw["artifact"])).first()
        if artifact is None:
            errors.add(plan.name, "artifact", f"artifact {raw['artifact']!r} is not yours")
            return None
        try:
            return artifact_algorithm(
                owner=owner,
                artifact=artifact,
                entrypoint=raw.get("entrypoint"),
                parameter_schema=raw.get("parameter_schema", {}),
            )
        except InvalidInput as exc:
            _merge(errors, plan.name, exc)
            return None
    name = raw.get("algorithm")
    algorithm = (
        Algorithm.objects.filter(name=name, owner__isnull=True).first()
        or Algorithm.objects.filter(name=name, owner=owner).first()
        if isinstance(name, str)
        else None
    )
    if algorithm is None:
        errors.add(plan.name, "algorithm", f"no algorithm {name!r} (or give an artifact)")
    return algorithm


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _merge(errors: _Errors, stage: str, exc: InvalidInput) -> None:
    for key, messages in exc.errors.items():
        if isinstance(messages, dict):
            for sub, nested in messages.items():
                for message in nested if isinstance(nested, list) else [nested]:
                    errors.add(stage, f"{key}.{sub}", str(message))
        else:
            for message in messages if isinstance(messages, list) else [messages]:
                errors.add(stage, key, str(message))


def _check_experiment(
    owner: Any,
    raw: dict,
    plan: StagePlan,
    by_name: dict[str, StagePlan],
    errors: _Errors,
    list_nodes: NodeLister | None,
) -> None:
    algorithm = plan.algorithm = _algorithm(owner, raw, plan, errors)
    if algorithm is None:
        return
    source = plan.inputs.get("dataset")
    if "dataset" in raw:
        if source:
            errors.add(plan.name, "dataset", "give a dataset or inputs.dataset, not both")
        plan.dataset = Dataset.objects.visible_to(owner).filter(pk=_int(raw["dataset"])).first()
        if plan.dataset is None:
            errors.add(plan.name, "dataset", f"dataset {raw['dataset']!r} does not exist")
            return
    if source and source["stage"] in by_name:
        upstream = by_name[source["stage"]]
        if algorithm.dataset_input == DatasetInput.NONE:
            errors.add(
                plan.name, "inputs.dataset", f"algorithm {algorithm.name!r} takes no dataset"
            )
        if upstream.kind == Stage.Kind.COMPARE:
            errors.add(plan.name, "inputs.dataset", f"{upstream.name!r} is a compare stage")
        elif (
            "file" not in source and upstream.algorithm and upstream.algorithm.produces != "dataset"
        ):
            errors.add(
                plan.name,
                "inputs.dataset",
                f"stage {upstream.name!r} produces no dataset; name one of its files "
                '({"stage": ..., "file": "out.csv"})',
            )
    best = plan.inputs.get("parameters")
    if best and best["stage"] in by_name:
        upstream = by_name[best["stage"]]
        if upstream.kind == Stage.Kind.COMPARE or not upstream.template.get("objective"):
            errors.add(
                plan.name,
                "inputs.parameters",
                f"stage {upstream.name!r} has no objective, so no best job",
            )
    try:
        submit_experiment(
            owner=owner,
            algorithm=algorithm,
            # Only whether there will be a dataset matters when validating.
            dataset=plan.dataset or (Dataset() if source else None),
            list_nodes=list_nodes,
            validate_only=True,
            **plan.template,
        )
    except InvalidInput as exc:
        _merge(errors, plan.name, exc)
    except TypeError:  # a value of the wrong JSON type that the checks above let through
        errors.add(plan.name, "stage", "has a field of the wrong type")


def check_spec(owner: Any, spec: Any, list_nodes: NodeLister | None = None) -> list[StagePlan]:
    """The spec's stages in topological order, or InvalidInput naming each stage and field.

    Call inside a transaction: an artifact stage's algorithm row is made while checking.
    """
    errors = _Errors()
    if not isinstance(spec, dict):
        raise InvalidInput({"spec": ["must be an object with name and stages"]})
    problem = nul_problem(spec)
    if problem:
        raise InvalidInput({"spec": [problem]})
    for key in sorted(set(spec) - {"name", "stages"}, key=str):
        errors.top[str(key)[:100]] = ["is not a field of a pipeline (name, stages)"]
    if not isinstance(spec.get("name", ""), str) or len(spec.get("name", "")) > 200:
        errors.top["name"] = ["must be a string of at most 200 characters"]
    stages = spec.get("stages")
    if not isinstance(stages, list) or not 1 <= len(stages) <= MAX_STAGES:
        errors.top["stages"] = [f"must be a list of 1 to {MAX_STAGES} stages"]
        errors.raise_any()
    labels = [_label(raw, i) for i, raw in enumerate(stages)]
    for label in {label for label in labels if labels.count(label) > 1}:
        errors.add(label, "name", "is the name of more than one stage")
    plans = [plan for i, raw in enumerate(stages) if (plan := _parse_stage(raw, labels[i], errors))]
    errors.raise_any()
    ordered = _check_references(plans, errors)
    errors.raise_any()
    by_name = {plan.name: plan for plan in ordered}
    raws = dict(zip(labels, stages, strict=True))
    for plan in ordered:  # upstream first: a stage's checks read its upstream's algorithm
        if plan.kind == Stage.Kind.EXPERIMENT:
            _check_experiment(owner, raws[plan.name], plan, by_name, errors, list_nodes)
    errors.raise_any()
    return ordered
