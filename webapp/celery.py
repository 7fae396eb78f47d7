"""Petri's Celery app: beat fires recurring runs and housekeeping, a worker carries them out.

Run as ``celery -A webapp.celery worker`` and ``celery -A webapp.celery beat`` (k8s/), or let
``manage.py serve`` run one worker with beat embedded (docs/schedules.md).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("petri")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["jobs"])


def _make_filesystem_folders() -> None:
    """kombu's filesystem transport (embedded) needs its folders before the first message."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], mode=0o700, exist_ok=True)


if app.conf.broker_url.startswith("filesystem://"):
    _make_filesystem_folders()
