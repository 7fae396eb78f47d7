"""Fixtures of the CLI tests: a home of its own, signed in to a real server."""

from __future__ import annotations

import pytest

from petri_client.tests.helpers import PASSWORD, Petri


@pytest.fixture
def petri(tmp_path):
    return Petri(tmp_path)


@pytest.fixture
def signed_in(petri, petri_server, user, catalog):
    done = petri(
        "login",
        "--url",
        petri_server.url,
        "--username",
        user.username,
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert done.returncode == 0, done.stderr
    return petri
