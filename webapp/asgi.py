"""ASGI entry point served by daphne: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

from asgiref.sync import sync_to_async
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, running the middleware chain and the view in one hop to the
    request's thread, as WSGI (and the test client) run them.

    Every middleware and view of Petri's HTTP side is synchronous. Built for async, the chain
    ran the middleware inside WhiteNoise (sync only) on the event loop, each of their
    process_request and process_response in a hop to the request's thread and back: about a
    dozen thread switches a request, a third of a small request's CPU time.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


get_asgi_application()  # sets Django up, as it does for the handler it returns
django_asgi_app = OneHopASGIHandler()

# Imported once Django is set up: consumers and middleware touch models and settings.
from channels.routing import ProtocolTypeRouter  # noqa: E402

from webapp.realtime.consumers import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application()})
