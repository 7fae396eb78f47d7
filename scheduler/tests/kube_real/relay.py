"""TCP relays on the kit's bridge address, standing in for what the kit lacks (kube-proxy, DNS,
a registry for Postgres and Redis): pods reach the machine's Postgres, Redis and apiserver, and
runner pods the web pod, at 10.244.0.1. Each relay takes only the pods it names, the
NetworkPolicy the kit cannot enforce: runner pods never reach the database."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Address = tuple[str, int]


class Relay:
    """Listens on ``listen``; passes each connection from an ``allowed`` peer to ``target()``."""

    def __init__(
        self,
        listen: Address,
        target: Callable[[], Address | None],
        allowed: Callable[[str], bool],
    ) -> None:
        self.target = target
        self.allowed = allowed
        self.server = socket.create_server(listen, reuse_port=False)
        self.server.settimeout(0.5)
        self.refused: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"relay-{listen}")

    def start(self) -> Relay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, (peer, _) = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client, peer), daemon=True).start()

    def _relay(self, client: socket.socket, peer: str) -> None:
        with client:
            target = self.target() if self.allowed(peer) else None
            if target is None:
                self.refused.append(peer)
                return
            try:
                upstream = socket.create_connection(target, timeout=10)
            except OSError:
                return
            with upstream:
                upstream.settimeout(None)
                client.settimeout(None)
                back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
                back.start()
                _pump(client, upstream)
                back.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
