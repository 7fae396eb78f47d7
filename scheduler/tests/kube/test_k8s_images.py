"""The two images' Dockerfiles: pinned bases, non-root users, and what they must contain.

No container engine runs here, so the Dockerfiles are parsed and checked, not built.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from packaging.requirements import Requirement

from scheduler.backends.kubernetes.manifests import RUNNER_UID

ROOT = Path(settings.BASE_DIR)
WEB = ROOT / "Dockerfile"
RUNNER = ROOT / "base-image" / "Dockerfile"
# A full version (3.11.14, not 3.11 or latest), optionally with a digest; or a digest alone.
PINNED = re.compile(
    r"^[\w.\-/]+(:[\w.\-]*\d+\.\d+\.\d+[\w.\-]*(@sha256:[0-9a-f]{64})?"
    r"|(:[\w.\-]+)?@sha256:[0-9a-f]{64})$"
)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def stages(path: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for op, args in instructions(path):
        if op == "FROM":
            result.append([])
        result[-1].append((op, args))
    return result


def ignored(pattern_path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for pattern in patterns:
        bare = pattern.replace("**/", "")
        if fnmatch.fnmatch(pattern_path, pattern) or pattern_path.split("/")[0] == bare:
            return True
    return False


@pytest.mark.parametrize("dockerfile", [WEB, RUNNER], ids=["web", "runner"])
def test_every_base_image_is_pinned_to_a_version(dockerfile):
    names = set()
    for stage in stages(dockerfile):
        words = stage[0][1].split()
        image = words[0]
        if len(words) == 3 and words[1].upper() == "AS":
            names.add(words[2])
        if image in names:
            continue
        assert PINNED.match(image), f"{dockerfile.name}: {image} is not pinned to a version"
        assert not image.endswith(":latest")


@pytest.mark.parametrize("dockerfile", [WEB, RUNNER], ids=["web", "runner"])
def test_the_image_runs_as_the_non_root_user_kubernetes_expects(dockerfile):
    final = stages(dockerfile)[-1]
    users = [args for op, args in final if op == "USER"]
    assert users, f"{dockerfile} never leaves root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # Numeric, so the kubelet can check runAsNonRoot, and the UID the manifests run as.
    assert user == str(RUNNER_UID)
    last_user_at = max(i for i, (op, _) in enumerate(final) if op == "USER")
    assert all(op != "RUN" for op, _ in final[last_user_at:]), "RUN after USER runs as the user"


@pytest.mark.parametrize("dockerfile", [WEB, RUNNER], ids=["web", "runner"])
def test_everything_copied_from_the_context_exists_and_is_not_ignored(dockerfile):
    for stage in stages(dockerfile):
        for op, args in stage:
            if op not in ("COPY", "ADD") or args.startswith("--from"):
                continue
            *sources, _ = shlex.split(args)
            for source in sources:
                assert (ROOT / source).exists(), f"{dockerfile.name} copies missing {source}"
                assert not ignored(source.rstrip("/")), f"{source} is in .dockerignore"


def test_the_build_context_leaves_local_state_out():
    for path in (".venv", "var", ".git", "webapp/frontend/node_modules"):
        assert ignored(path), path


def test_the_runner_image_has_python_r_the_harness_and_the_catalog():
    text = RUNNER.read_text()
    (cmd,) = [ast.literal_eval(args) for op, args in instructions(RUNNER) if op == "CMD"]
    assert cmd == ["python", "-m", "petri_runner"]
    assert "r-base-core" in text
    assert "COPY algorithms/ /opt/petri/algorithms/" in text
    assert "PETRI_ALGORITHMS_DIR=/opt/petri/algorithms" in text
    # The catalog's libraries come from requirements.txt's algorithms group.
    assert "# algorithms" in (ROOT / "requirements.txt").read_text()
    assert "/^# algorithms/" in text


def test_both_images_ship_the_algorithm_kit_where_python_finds_it():
    # Algorithms import petri_kit from the runner's PYTHONPATH; the server's jobs/graphs.py
    # imports it from the web image's working directory, beside jobs/.
    runner = RUNNER.read_text()
    assert "PYTHONPATH=/opt/petri/runner" in runner
    assert "COPY base-image/runner/petri_kit/ /opt/petri/runner/petri_kit/" in runner
    web = instructions(WEB)
    assert ("WORKDIR", "/app") in web
    assert ("COPY", "base-image/runner/petri_kit/ petri_kit/") in web


def test_every_catalog_language_has_its_interpreter_in_the_runner_image():
    text = RUNNER.read_text()
    interpreters = {"python": "python:3.11", "r": "r-base-core"}
    for manifest in ROOT.glob("algorithms/*/algorithm.yaml"):
        language = re.search(r"^language:\s*(\S+)", manifest.read_text(), re.M).group(1)
        assert interpreters[language] in text, f"{manifest.parent.name} needs {language}"


def test_the_web_image_builds_the_web_app_and_collects_static_files():
    runs = " ".join(args for op, args in instructions(WEB) if op == "RUN")
    assert "npm run build" in runs
    assert "collectstatic --noinput" in runs
    (cmd,) = [ast.literal_eval(args) for op, args in instructions(WEB) if op == "CMD"]
    assert cmd[0] == "daphne" and cmd[-1] == "webapp.asgi:application"


def _app_requirements() -> set[str]:
    """What the web image installs: requirements.txt less the algorithms and test groups."""
    wanted, skip = set(), False
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith("# pulled in by"):
            break
        if line.startswith("#"):
            skip = line.startswith(("# algorithms", "# tests and lint"))
        elif line.strip() and not skip:
            wanted.add(line)
    closure: set[str] = set()
    todo = [Requirement(line) for line in wanted]
    while todo:
        requirement = todo.pop()
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in closure and not requirement.extras:
            continue
        closure.add(name)
        extras = {""} | set(requirement.extras)
        for text in importlib.metadata.requires(name) or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras):
                todo.append(dependency)
    return closure


def test_the_web_image_installs_every_library_the_web_app_and_scheduler_import():
    installed = _app_requirements()
    providers = importlib.metadata.packages_distributions()
    own = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    for package in ("webapp", "jobs", "scheduler"):
        for source in (ROOT / package).rglob("*.py"):
            if "tests" in source.parts or "migrations" in source.parts:
                continue
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    for dist in providers.get(top, []):
                        dist = re.sub(r"[-_.]+", "-", dist).lower()
                        if dist == own:
                            continue  # petri_kit: copied in, see the test above
                        assert dist in installed, f"{source} imports {top} ({dist})"
