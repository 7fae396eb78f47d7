"""Where the CLI keeps the server's URL and its API token's key: a 0600 JSON file, or the env."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Config:
    url: str = ""
    key: str = ""


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "petri" / "config.json"


def load_config() -> Config:
    """The saved login, overridden field by field by PETRI_URL and PETRI_TOKEN (a key)."""
    saved: dict[str, str] = {}
    path = config_path()
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            saved = {}
    return Config(
        url=os.environ.get("PETRI_URL") or saved.get("url", ""),
        # "token": what versions before the key was called "key" everywhere wrote.
        key=os.environ.get("PETRI_TOKEN") or saved.get("key") or saved.get("token", ""),
    )


def save_config(config: Config) -> Path:
    """Write the login readable by its owner only; created 0600 so the token never leaks."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"url": config.url, "key": config.key}, out, indent=2)
    os.chmod(path, 0o600)  # an older file may have been created with looser bits
    return path


def read_yaml(path: Path) -> Any:
    """A user's YAML file (experiment.yaml, pipeline.yaml), or a PetriError saying why not."""
    import yaml

    from petri_client.client import PetriError

    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PetriError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PetriError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
