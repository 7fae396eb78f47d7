"""Websocket routes, behind origin checking and session or token authentication."""

from __future__ import annotations

from channels.routing import URLRouter
from django.urls import path

from webapp.realtime.auth import authenticated
from webapp.realtime.consumers import ExperimentConsumer, UserEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", UserEventsConsumer.as_asgi()),
    path("ws/experiments/<int:experiment_id>/", ExperimentConsumer.as_asgi()),
]


def websocket_application():
    return authenticated(URLRouter(websocket_urlpatterns))
