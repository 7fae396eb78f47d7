"""Browser fixtures: Debian's chromium driven by Playwright against a real `manage.py serve`.

Chromium is installed by `.ci/run` (or by hand), never here: without it these tests skip
(the ``chromium_browser`` fixture implies ``requires("chromium")``), or fail when PETRI_REQUIRE
lists chromium.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    # Parallel test processes build it once: the others wait for the lock, then find it fresh.
    with (FRONTEND / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not index.exists() or index.stat().st_mtime < _newest_input():
            if shutil.which("npm") is None:
                pytest.fail("the web app is not built and npm is missing: run `make frontend`")
            if not (FRONTEND / "node_modules").is_dir():
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
            subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True)
    return index


class Browser:
    """One chromium for the session; Playwright's event loop counts as running only in use.

    Playwright's sync API leaves its asyncio loop marked as running in this thread between
    calls, which makes Django refuse ORM calls and ``async_to_sync`` fail in every later test
    of this process. The loop is marked running while a page is in use, and not otherwise.
    """

    def __init__(self, playwright, chromium, loop: asyncio.AbstractEventLoop) -> None:
        self.playwright, self.chromium, self.loop = playwright, chromium, loop

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        asyncio._set_running_loop(self.loop)
        try:
            yield
        finally:
            asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    """Debian's chromium, launched once per test process (requires chromium)."""
    from playwright.sync_api import expect, sync_playwright

    from petri_pytest.services import chromium_path

    expect.set_options(timeout=20_000)
    playwright = sync_playwright().start()
    loop = asyncio.get_running_loop()
    chromium = playwright.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
    asyncio._set_running_loop(None)
    yield Browser(playwright, chromium, loop)
    asyncio._set_running_loop(loop)
    chromium.close()
    playwright.stop()


class PageActivity:
    """What a page asked of the server and the server failed to answer, for a failed report."""

    def __init__(self, tab) -> None:
        self.open: dict[object, tuple[float, str]] = {}  # request -> (since, "GET /path")
        self.failed: list[str] = []
        tab.on("request", self._sent)
        tab.on("requestfinished", self._ended)
        tab.on("requestfailed", self._ended)
        tab.on("response", self._answered)
        tab.on("console", self._console)

    def _sent(self, request) -> None:
        self.open[request] = (time.monotonic(), f"{request.method} {request.url}")

    def _ended(self, request) -> None:
        since, what = self.open.pop(request, (time.monotonic(), request.url))
        if request.failure:
            self.failed.append(f"{what}: {request.failure} after {time.monotonic() - since:.1f} s")

    def _answered(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.request.method} {response.url}: {response.status}")

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.failed.append(f"console {message.type}: {message.text}")

    def describe(self) -> str:
        now = time.monotonic()
        waiting = [f"{what}: unanswered for {now - t:.1f} s" for t, what in self.open.values()]
        return "\n".join(waiting + self.failed) or "every request was answered"


@pytest.fixture
def page(chromium_browser, built_frontend, petri_server, monkeypatch, request):
    """A page in a fresh browser context (no cookies, storage or routes of other tests).

    Nothing async touches the ORM here, so the test body may use it while the page is open.
    """
    from django.db import connections

    from petri_pytest.diagnostics import describe_on_failure

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    errors: list[str] = []
    with chromium_browser.in_use():
        context = chromium_browser.chromium.new_context(
            viewport={"width": 1400, "height": 900}, base_url=petri_server.url
        )
        context.set_default_timeout(20_000)
        tab = context.new_page()
        tab.on("pageerror", lambda error: errors.append(str(error)))
        activity = PageActivity(tab)
        describe_on_failure(request.node, "browser", lambda: f"{tab.url}\n{activity.describe()}")
        try:
            yield tab
        finally:
            context.close()
            # While that loop runs, Django keeps the test's connections apart from its usual
            # ones; close them now, or they outlive the test and block dropping the database.
            connections.close_all()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def screenshots(settings) -> Path:
    """Where screenshots go: the checkout's var/screenshots, kept by CI as an artifact."""
    folder = Path(settings.BASE_DIR) / "var" / "screenshots"
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
