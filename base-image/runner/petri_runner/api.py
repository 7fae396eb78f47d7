"""HTTP client for the runner API: bearer auth, retries with backoff, streaming transfers."""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urljoin, urlsplit

from petri_runner.errors import AttemptOver, FatalResponse, LocalFileError, RetriesExhausted

T = TypeVar("T")

BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 15.0
SOCKET_TIMEOUT_SECONDS = 60.0
CHUNK_BYTES = 1024 * 1024

# The server uses these to say that this attempt is no longer wanted.
ATTEMPT_OVER_STATUSES = frozenset({401, 403, 404, 409, 410})


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth trying again later."""
    return status == 429 or 500 <= status <= 599


class _Transient(Exception):
    """One try failed in a way that a later try may not."""


class ApiClient:
    """Calls the runner API; every call is retried within ``retry_seconds``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        retry_seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self._retry_seconds = retry_seconds
        self._sleep = sleep
        self._clock = clock
        self._opener = urllib.request.build_opener(SameOriginAuthRedirects())

    def endpoint(self, path: str) -> str:
        """The URL of one of the fixed runner endpoints, e.g. ``/api/runner/job/``."""
        return self.base_url.rstrip("/") + path

    def resolve(self, url: str) -> str:
        """A URL the server handed out: relative to the API URL, or already absolute."""
        return urljoin(self.base_url, url)

    def get_json(self, url: str) -> Any:
        """GET a JSON document."""

        def parse(response: http.client.HTTPResponse) -> Any:
            try:
                return json.load(response)
            except ValueError as exc:
                raise FatalResponse(f"GET {_path(url)}: response is not JSON ({exc})") from None

        return self._call("GET", url, lambda: self._once("GET", url, None, {}, parse))

    def post_json(self, url: str, payload: Any) -> None:
        """POST a JSON document; the answer's body is ignored."""
        # allow_nan=False: NaN is not JSON, and the server would reject the whole batch.
        body = json.dumps(payload, allow_nan=False).encode()
        headers = {"Content-Type": "application/json"}
        self._call("POST", url, lambda: self._once("POST", url, body, headers, _drain))

    def download(self, url: str, destination: Path) -> None:
        """GET a file, streaming it to ``destination`` (rewritten from the start on each try)."""

        def save(response: http.client.HTTPResponse) -> None:
            with _local(destination, "wb") as out:
                while chunk := response.read(CHUNK_BYTES):
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise LocalFileError(f"cannot write {destination}: {exc}") from None

        self._call("GET", url, lambda: self._once("GET", url, None, {}, save))

    def upload(self, url: str, source: Path) -> None:
        """PUT a file's raw bytes, streaming them from disk."""

        def put_once() -> None:
            with _local(source, "rb") as body:
                headers = {
                    "Content-Type": "application/octet-stream",
                    # An explicit length keeps urllib from falling back to chunked encoding.
                    "Content-Length": str(os.fstat(body.fileno()).st_size),
                }
                self._once("PUT", url, body, headers, _drain)

        self._call("PUT", url, put_once)

    def _once(
        self,
        method: str,
        url: str,
        body: bytes | BinaryIO | None,
        headers: dict[str, str],
        handle: Callable[[http.client.HTTPResponse], T],
    ) -> T:
        """Make one try; transient failures come out as _Transient."""
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        # Unredirected, so the token never follows a redirect to another host.
        request.add_unredirected_header("Authorization", f"Bearer {self._token}")
        where = f"{method} {_path(url)}"
        try:
            with self._opener.open(request, timeout=SOCKET_TIMEOUT_SECONDS) as response:
                return handle(response)
        except urllib.error.HTTPError as exc:
            status, message = exc.code, _server_message(exc)
            exc.close()
            answer = f"HTTP {status}" + (f": {message}" if message else "")
            if status in ATTEMPT_OVER_STATUSES:
                raise AttemptOver(f"{where} answered {answer}") from None
            if is_retryable_status(status):
                raise _Transient(answer) from None
            raise FatalResponse(f"{where} answered {answer}") from None
        except (OSError, http.client.HTTPException) as exc:
            # URLError, timeouts, refused and reset connections, truncated bodies.
            raise _Transient(_describe(exc)) from None

    def _call(self, method: str, url: str, once: Callable[[], T]) -> T:
        """Run ``once`` until it succeeds, backing off between transient failures."""
        deadline = self._clock() + self._retry_seconds
        delay = BACKOFF_FIRST_SECONDS
        while True:
            try:
                return once()
            except _Transient as exc:
                problem = str(exc)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise RetriesExhausted(
                    f"{method} {_path(url)} still failing after "
                    f"{self._retry_seconds:g} s of retries: {problem}"
                )
            # Jitter keeps many runners from hammering a recovering server in step.
            self._sleep(min(random.uniform(delay / 2, delay), remaining))
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)


class SameOriginAuthRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects, keeping the bearer token only while the origin stays the same."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        token = req.unredirected_hdrs.get("Authorization")
        if new is not None and token and _origin(newurl) == _origin(req.full_url):
            new.add_unredirected_header("Authorization", token)
        return new


def _local(path: Path, mode: str) -> BinaryIO:
    """Open a local file; its errors are not network trouble, so they must not be retried."""
    try:
        return open(path, mode)  # the caller closes it
    except OSError as exc:
        raise LocalFileError(f"cannot open {path}: {exc}") from None


def _drain(response: http.client.HTTPResponse) -> None:
    response.read()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc.reason, str):
        exc = exc.reason
    return str(exc) or type(exc).__name__


def _server_message(exc: urllib.error.HTTPError) -> str:
    """The gist of an error answer: DRF's ``detail`` when there is one, on one line."""
    try:
        text = exc.read(4096).decode("utf-8", errors="replace").strip()
    except (OSError, http.client.HTTPException):
        text = ""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "detail" in data:
        text = str(data["detail"])
    return " ".join(text.split())[:500] or str(exc.reason or "")
