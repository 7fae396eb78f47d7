"""Loading the algorithm catalog (``algorithms/<name>/algorithm.yaml``) into the database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from jobs.models import Algorithm, DatasetInput
from jobs.sweeps import PARAMETER_TYPES, sweep_values

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# libyaml's safe loader (in PyYAML's wheels) reads the same documents about 15x faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(Exception):
    """An algorithm.yaml that breaks the contract; the message names the file and key."""


def _read_mapping(path: Path) -> dict[str, Any]:
    """One algorithm.yaml as a mapping, or a CatalogError naming the file."""
    try:
        doc = yaml.load(path.read_text(), Loader=YAML_LOADER)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise CatalogError(f"{path}: must be a mapping")
    return doc


def parse_algorithm(path: Path) -> dict[str, Any]:
    """Read and check one algorithm.yaml; return the fields of an Algorithm row."""
    where = str(path)
    doc = _read_mapping(path)
    for key in ("name", "title", "entrypoint"):
        if key not in doc:
            raise CatalogError(f"{where}: missing {key!r}")
    name = doc["name"]
    if not isinstance(name, str) or not NAME.match(name) or name != path.parent.name:
        raise CatalogError(f"{where}: name must be [a-z0-9-]+ and equal the folder name")
    entrypoint = doc["entrypoint"]
    if (
        not isinstance(entrypoint, list)
        or not entrypoint
        or not all(isinstance(arg, str) for arg in entrypoint)
    ):
        raise CatalogError(f"{where}: entrypoint must be a non-empty list of strings")
    dataset_input = (doc.get("inputs") or {}).get("dataset", "none")
    if dataset_input not in DatasetInput.values:
        raise CatalogError(f"{where}: inputs.dataset must be one of {DatasetInput.values}")
    parameters = parse_parameters(doc.get("parameters"), where)
    parse_preload(doc, where)
    return {
        "name": name,
        "title": doc["title"],
        "description": (doc.get("description") or "").strip(),
        "language": doc.get("language", "python"),
        "entrypoint": entrypoint,
        "image": doc.get("image") or "",
        "backend": _backend(doc, where),
        "dataset_input": dataset_input,
        "resources": doc.get("resources") or {},
        "parameters": parameters,
        "produces": _produces(doc, where),
    }


def parse_preload(doc: dict[str, Any], where: str) -> list[str]:
    """``preload``: the modules a warm zygote imports once for all the algorithm's jobs."""
    preload = doc.get("preload") or []
    if not isinstance(preload, list) or not all(
        isinstance(name, str) and MODULE.match(name) for name in preload
    ):
        raise CatalogError(f"{where}: preload must be a list of Python module names")
    return preload


def preload_modules(path: Path) -> list[str]:
    """The ``preload`` list of one algorithm.yaml (empty: its jobs run cold)."""
    return parse_preload(_read_mapping(path), str(path))


def _backend(doc: dict[str, Any], where: str) -> str:
    """The backend an algorithm must run on (``backend: slurm``); empty: the default one."""
    backend = doc.get("backend") or ""
    if not isinstance(backend, str):
        raise CatalogError(f"{where}: backend must be the name of a backend")
    return backend


def parse_parameters(parameters: Any, where: str) -> list[dict[str, Any]]:
    """Check a ``parameters`` mapping (name to type, default, ...); return the stored list."""
    if not parameters:
        return []
    if not isinstance(parameters, dict):
        raise CatalogError(f"{where}: parameters must be a mapping of name to specification")
    found = []
    for pname, spec in parameters.items():
        if not isinstance(pname, str) or not pname:
            raise CatalogError(f"{where}: parameter names must be non-empty strings")
        if not isinstance(spec, dict) or spec.get("type") not in PARAMETER_TYPES:
            raise CatalogError(f"{where}: parameter {pname!r} needs a type in {PARAMETER_TYPES}")
        if spec["type"] == "choice" and not spec.get("values"):
            raise CatalogError(f"{where}: choice parameter {pname!r} needs values")
        if "default" in spec:
            try:
                sweep_values(spec, spec["default"])
            except ValueError as exc:
                raise CatalogError(f"{where}: default of {pname!r}: {exc}") from None
        found.append({"name": pname, **spec})
    return found


def _produces(doc: dict[str, Any], where: str) -> str:
    produces = doc.get("produces") or ""
    if produces not in ("", "dataset"):
        raise CatalogError(f"{where}: produces must be 'dataset' when given")
    return produces


def sync_algorithms(directory: Path) -> list[Algorithm]:
    """Create or update one Algorithm per folder; algorithms whose folder is gone are disabled."""
    found = [parse_algorithm(p) for p in sorted(directory.glob("*/algorithm.yaml"))]
    now = timezone.now()
    with transaction.atomic():
        synced = [
            # An operator's enable/disable in the admin survives later syncs; new ones start on.
            Algorithm.objects.update_or_create(
                name=fields["name"],
                defaults={**fields, "synced_at": now},
                create_defaults={**fields, "enabled": True, "synced_at": now},
            )[0]
            for fields in found
        ]
        catalog = Algorithm.objects.filter(owner__isnull=True)
        catalog.exclude(name__in=[a.name for a in synced]).update(enabled=False)
    return synced
