"""Strict Kubernetes 1.33 schema validation, as ``kubernetes_validate.validate`` does it.

That function reads and parses the schema files (the definitions file is megabytes of JSON) on
every call, some 0.1 s of CPU each; the fake cluster validates every Job and Secret it is sent,
hundreds in some tests. Here each kind's validator is built once per process.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from kubernetes_validate import utils
from referencing import Registry, Resource

K8S_VERSION = "1.33"


@functools.cache
def _schema_dir() -> str:
    # As kubernetes_validate: the newest schema not newer than the version asked for.
    newest = [v for v in utils.all_versions() if utils.major_minor(v) <= K8S_VERSION][-1]
    return f"kubernetes-json-schema/v{newest}-local-strict"


@functools.cache
def _definitions() -> Resource:
    return Resource.from_contents(
        utils.schema_contents(f"{_schema_dir()}/_definitions.json", K8S_VERSION)
    )


@functools.cache
def validator(kind: str, api_version: str) -> jsonschema.protocols.Validator:
    """The validator of one kind (``Job``, ``batch/v1``), built once."""
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = utils.schema_contents(f"{_schema_dir()}/{kind.lower()}-{group}.json", K8S_VERSION)
    registry = _definitions() @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate(obj: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``obj`` is valid Kubernetes 1.33 (strict)."""
    validator(obj["kind"], obj["apiVersion"]).validate(obj)
