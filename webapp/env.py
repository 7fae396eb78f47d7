"""Typed readers for environment variables that fail loudly on a bad value."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_json_object(name: str) -> dict:
    """A JSON object (``{}`` when unset), refused loudly when it is anything else."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object; {exc}") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object; got {raw!r}")
    return value


_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")


def env_label_pairs(name: str) -> dict[str, str]:
    """``key=value,key=value`` Kubernetes labels (or node selectors), refused when malformed."""
    pairs = {}
    for item in env_list(name):
        key, sep, value = item.partition("=")
        valid = sep and _LABEL_KEY.match(key) and _LABEL_VALUE.match(value) and len(value) <= 63
        if not valid:
            raise ImproperlyConfigured(f"{name} must be key=value pairs of labels; got {item!r}")
        pairs[key] = value
    return pairs


def env_json_objects(name: str) -> list[dict[str, Any]]:
    """A JSON list of objects (Kubernetes tolerations); empty when unset."""
    raw = env_str(name).strip()
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ImproperlyConfigured(f"{name} must be a JSON list of objects; got {raw!r}")
    return value


def env_credentials(id_name: str, secret_name: str) -> tuple[str, str] | None:
    """An id and its secret (an OAuth app): both set, or neither (None)."""
    client_id, secret = env_str(id_name).strip(), env_str(secret_name).strip()
    if bool(client_id) != bool(secret):
        raise ImproperlyConfigured(f"set both {id_name} and {secret_name}, or neither")
    return (client_id, secret) if client_id else None
