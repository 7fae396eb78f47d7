"""`manage.py serve` listens with PETRI_LISTEN_BACKLOG, not Twisted's 50 (issue: bursts dropped)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.management import CommandError

from scheduler.management.commands.serve import listen_endpoints


def test_the_endpoints_carry_the_backlog_from_the_setting_or_the_option(settings):
    settings.PETRI_LISTEN_BACKLOG = 777
    assert listen_endpoints("127.0.0.1", 8000) == ["tcp:port=8000:interface=127.0.0.1:backlog=777"]
    assert listen_endpoints("127.0.0.1", 8000, 64)[0].endswith(":backlog=64")
    with pytest.raises(CommandError, match="backlog"):
        listen_endpoints("127.0.0.1", 8000, 0)


def test_a_served_petri_listens_with_the_large_backlog(petri_server, settings):
    port = urlparse(petri_server.url).port
    listening = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    # For a listening socket ss shows the backlog as Send-Q, capped by the kernel's somaxconn.
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert int(listening[2]) == min(settings.PETRI_LISTEN_BACKLOG, somaxconn) > 50
