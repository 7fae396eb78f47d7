"""Daphne's Django handler runs the middleware chain and the view in one hop to a thread."""

from __future__ import annotations

import threading

from asgiref.sync import async_to_sync, iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.utils.deprecation import MiddlewareMixin

from webapp.asgi import OneHopASGIHandler

SEEN: list[tuple[str, object]] = []


class Probe(MiddlewareMixin):
    """Records in which mode it was built and which thread runs each of its hooks."""

    def __init__(self, get_response):
        super().__init__(get_response)
        SEEN.append(("built async", iscoroutinefunction(self)))

    def process_request(self, request):
        SEEN.append(("request", threading.get_ident()))

    def process_response(self, request, response):
        SEEN.append(("response", threading.get_ident()))
        return response


async def _get(app: OneHopASGIHandler, path: str) -> tuple[dict, dict, int]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(b"host", b"testserver")],
        "query_string": b"",
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    return (
        await communicator.receive_output(10),
        await communicator.receive_output(10),
        threading.get_ident(),
    )


def test_middleware_and_view_run_synchronously_in_one_thread_off_the_loop(db, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "webapp.tests.test_asgi_handler.Probe"]
    settings.ALLOWED_HOSTS = ["testserver"]
    SEEN.clear()
    start, body, loop_thread = async_to_sync(_get)(OneHopASGIHandler(), "/healthz")
    assert start["status"] == 200 and b"ok" in body["body"]
    # Built for a synchronous chain: the innermost middleware too, so no hop back to the loop.
    assert SEEN[0] == ("built async", False)
    threads = {ident for kind, ident in SEEN[1:]}
    assert len(threads) == 1 and loop_thread not in threads
