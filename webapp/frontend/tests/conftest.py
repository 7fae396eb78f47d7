"""Browser fixtures: Debian's chromium driven by Playwright against a real `manage.py serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FRONTEND = Path(__file__).resolve().parent.parent
BUILD_INPUTS = [
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed when missing (CI machines start fresh)."""
    if not CHROMIUM.exists():
        if shutil.which("apt-get") is None:
            pytest.fail("chromium is missing and apt-get is not available to install it")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, env=env)
    return CHROMIUM


def _newest_input() -> float:
    newest = 0.0
    for name in BUILD_INPUTS:
        path = FRONTEND / name
        files = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


@pytest.fixture(scope="session")
def built_frontend() -> Path:
    """The web app's build, made as `make frontend` makes it when missing or stale."""
    index = FRONTEND / "dist" / "index.html"
    if not index.exists() or index.stat().st_mtime < _newest_input():
        if shutil.which("npm") is None:
            pytest.fail("the web app is not built and npm is not available: run `make frontend`")
        if not (FRONTEND / "node_modules").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
        subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True)
    return index


@pytest.fixture
def page(chromium, built_frontend, petri_server, monkeypatch):
    """A fresh browser page; Playwright runs per test so no event loop outlives the test.

    Playwright's sync API keeps an asyncio loop running in this thread, which makes Django
    refuse ORM calls from the test body; nothing async touches the ORM here, so allow them.
    """
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1400, "height": 900}, base_url=petri_server.url
        )
        context.set_default_timeout(20_000)
        errors: list[str] = []
        tab = context.new_page()
        tab.on("pageerror", lambda error: errors.append(str(error)))
        yield tab
        context.close()
        browser.close()
        # While that loop runs, Django keeps the test's connections apart from its usual ones;
        # close them now, or they outlive the test and block dropping the test database.
        connections.close_all()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def screenshots(settings) -> Path:
    """Where screenshots go: var/screenshots, kept by CI as an artifact."""
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser script, pinned in package.json (resolved as node resolves it)."""
    found = subprocess.run(
        ["node", "-p", "require.resolve('axe-core/axe.min.js')"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        pytest.fail(f"axe-core is not installed (npm ci in {FRONTEND}): {found.stderr.strip()}")
    return Path(found.stdout.strip()).read_text()
