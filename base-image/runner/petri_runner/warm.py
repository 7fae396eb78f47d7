"""The runner's side of a warm zygote (zygote.py): ask it for a forked job, watch that job.

``WarmProcess`` quacks like the Popen the runner uses for a cold entrypoint: ``stdout``,
``returncode``, ``wait()``; ``kill()`` hangs up, which makes the zygote SIGKILL the job's group.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Mapping, Sequence
from typing import BinaryIO

HANDSHAKE_SECONDS = 30.0


class WarmUnavailable(Exception):
    """The zygote cannot take this job (not running, crashed, refused); run it cold."""


class WarmProcess:
    """One job forked by a zygote, seen from the runner."""

    def __init__(self, conn: socket.socket, stdout: BinaryIO, pid: int) -> None:
        self.pid = pid  # in the zygote's PID namespace: for the log, never for signals
        self.stdout = stdout
        self.returncode: int | None = None
        # True when the zygote went away before saying how the job ended (it crashed).
        self.lost = False
        self._conn = conn
        self._killed = False
        self._done = threading.Event()
        threading.Thread(target=self._watch, name="petri-warm-exit", daemon=True).start()

    def _watch(self) -> None:
        try:
            data = self._conn.recv(4096)
        except OSError:
            data = b""
        try:
            code = json.loads(data)["exit"] if data else None
        except (ValueError, KeyError, TypeError):
            code = None
        if code is None:
            # Hung up on: by us (kill) or because the zygote died with the job.
            self.lost = not self._killed
            code = -signal.SIGKILL
        self.returncode = int(code)
        self._conn.close()
        self._done.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        self._done.wait(timeout)
        return self.returncode

    def alive(self) -> bool:
        return not self._done.is_set()

    def kill(self) -> None:
        """Stop the job (the zygote kills its whole group) and wait for the answer."""
        if self._done.is_set():
            return
        self._killed = True
        try:
            self._conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._done.wait()


def script_argv(entrypoint: Sequence[str]) -> list[str] | None:
    """``python main.py ARGS`` as the argv a zygote runs (``main.py ARGS``); None if not that."""
    if len(entrypoint) < 2 or entrypoint[0] not in ("python", "python3"):
        return None
    script = entrypoint[1]
    if script.startswith("-") or not script.endswith(".py") or "/" in script.lstrip("./"):
        return None
    return list(entrypoint[1:])


def start(
    socket_path: str,
    job: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    limits: Mapping[str, int],
) -> WarmProcess:
    """Hand the job in spool directory ``job`` to the zygote at ``socket_path``."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    read_end, write_end = os.pipe()
    try:
        conn.settimeout(HANDSHAKE_SECONDS)
        conn.connect(socket_path)
        request = {"job": job, "argv": list(argv), "env": dict(env), "limits": dict(limits)}
        socket.send_fds(conn, [json.dumps(request).encode()], [write_end])
        os.close(write_end)
        write_end = -1
        reply = json.loads(conn.recv(4096) or b"{}")
        if "pid" not in reply:
            raise WarmUnavailable(reply.get("error") or "the zygote hung up")
        conn.settimeout(None)
    except (OSError, ValueError) as exc:
        conn.close()
        os.close(read_end)
        raise WarmUnavailable(str(exc) or type(exc).__name__) from None
    except WarmUnavailable:
        conn.close()
        os.close(read_end)
        raise
    finally:
        if write_end >= 0:
            os.close(write_end)
    return WarmProcess(conn, os.fdopen(read_end, "rb"), int(reply["pid"]))
