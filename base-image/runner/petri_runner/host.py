"""A warm runner host: imports the runner once, then forks one runner per attempt.

``python -m petri_runner.host`` is started by the local backend with the runner's allow-listed
environment (never the server's, never a token). It reads one JSON request a line on stdin,
``{"handle": h, "env": {...}, "log": path}``, forks a child that leads a session of its own,
writes its output to ``log``, adds ``env`` (the attempt's URL, token and limits) to its
environment and runs the attempt exactly as ``python -m petri_runner`` would. On stdout it
answers ``{"handle": h, "pid": n}`` at once and ``{"handle": h, "exit": code}`` when the runner
ends (negative: killed by that signal). One thread; children are watched through pidfds. When
stdin closes (the backend went away) the host exits; runners it started keep running.
"""

from __future__ import annotations

import codecs
import http.client
import io
import json
import os
import selectors
import sys
import urllib.request

from petri_runner import cli


def main() -> int:
    _preload()
    requests = sys.stdin.buffer
    selector = selectors.DefaultSelector()
    selector.register(requests, selectors.EVENT_READ, None)
    running: dict[int, tuple[str, int]] = {}  # pidfd -> (handle, pid)
    buffered = b""
    while True:
        for key, _ in selector.select():
            if key.data is not None:
                handle, pid = key.data
                selector.unregister(key.fd)
                os.close(key.fd)
                running.pop(key.fd, None)
                _, status = os.waitpid(pid, 0)
                _answer({"handle": handle, "exit": os.waitstatus_to_exitcode(status)})
                continue
            chunk = os.read(requests.fileno(), 65536)
            if not chunk:
                return 0
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                if line.strip():
                    handle, pid = _start(json.loads(line), selector, running)
                    pidfd = os.pidfd_open(pid)
                    running[pidfd] = (handle, pid)
                    selector.register(pidfd, selectors.EVENT_READ, (handle, pid))
                    _answer({"handle": handle, "pid": pid})


def _preload() -> None:
    """Load once here what each runner would otherwise load after its fork.

    socket.getaddrinfo encodes the API's host name with the idna codec, whose first use
    imports encodings.idna, stringprep and unicodedata: about a tenth of a runner's CPU time.
    urllib compiles its URL patterns, and http.client's header parser its own, on first use.
    """
    codecs.lookup("idna")
    urllib.request.Request("http://127.0.0.1/", data=b"", method="POST")
    http.client.parse_headers(io.BytesIO(b"Content-Type: application/json\r\n\r\n"))


def _start(request: dict, selector: selectors.BaseSelector, running: dict) -> tuple[str, int]:
    handle = str(request["handle"])
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return handle, pid
    code = 1
    try:
        os.setsid()
        selector.close()
        for pidfd in running:
            os.close(pidfd)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(devnull)
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        code = cli.main()
    except BaseException as exc:  # the runner's own failure: its log says why
        print(f"petri-runner: cannot start: {exc}", file=sys.stderr)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)


def _answer(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
