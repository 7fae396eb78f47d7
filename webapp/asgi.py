"""ASGI entry point served by daphne: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
django_asgi_app = get_asgi_application()

# Imported once Django is set up: consumers and middleware touch models and settings.
from channels.routing import ProtocolTypeRouter  # noqa: E402

from webapp.realtime.consumers import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application()})
