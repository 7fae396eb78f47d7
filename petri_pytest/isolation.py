"""What each test process (one per xdist worker) keeps to itself, and the fast password hasher.

Each process gets its own var directory (media, runner logs; the server fixture hands it to
`serve`), its own Redis channel-layer prefix (exported to every process it starts) and its own
block of ports for the servers it starts, so parallel workers never see each other's files,
events or servers. Its test database is its own clone (databases.py).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

import pytest
import threadpoolctl

from petri_pytest import FAST_HASHER

BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_state: dict[str, object] = {}


def worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# Below the kernel's ephemeral range (32768-60999 here) and above the real Kubernetes kit's
# 17xxx. A port from bind(0) can be handed to another worker, or be an outgoing connection's
# source port, between the pick and the server's bind: a test once signed in to another
# worker's Petri, which answered on the port its own serve then failed to listen on.
FIRST_PORT = 20000
PORTS_PER_PROCESS = 400
BLOCKS = (32768 - FIRST_PORT) // PORTS_PER_PROCESS


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on, from this test process's own block."""
    if "ports" not in _state:
        worker = worker_name()
        index = int(worker.removeprefix("gw")) + 1 if worker.startswith("gw") else 0
        first = FIRST_PORT + index % BLOCKS * PORTS_PER_PROCESS
        _state["ports"] = itertools.cycle(range(first, first + PORTS_PER_PROCESS))
    for port in itertools.islice(_state["ports"], PORTS_PER_PROCESS):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue  # a server of this process still on it, or something else's
            return port
    raise AssertionError(f"no free port left in {worker_name()}'s block on {host}")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # A shell without job control starts background commands with SIGINT ignored, and the
    # servers the tests start would inherit that and ignore the Ctrl-C their tests send.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # One BLAS thread per test process and per process it starts, as a job gets one per CPU it
    # requests: four workers on two cores, each with a pool of spinning BLAS threads, made one
    # logistic regression take 30 s instead of 0.1 s.
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    threadpoolctl.threadpool_limits(1)  # this process loaded numpy before any conftest ran
    # Bytecode is cached even where the environment says not to (this machine sets
    # PYTHONDONTWRITEBYTECODE): otherwise each xdist worker rewrites every test module's
    # assertions again, and each server a test starts compiles Petri again, ~4 s a process.
    # Jobs still never write any: the runner's sandbox sets it again for them.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    from django.conf import settings

    if not settings.configured:  # run with -p no:django (runner and catalog tests alone)
        return
    var = Path(tempfile.mkdtemp(prefix=f"petri-tests-{worker_name()}-"))
    _state["var"] = var
    settings.VAR_DIR = var
    settings.MEDIA_ROOT = var / "media"

    prefix = f"petri-test-{os.getpid()}"
    os.environ["PETRI_CHANNEL_PREFIX"] = prefix
    # Celery workers started by tests take only this process's tasks from a shared Redis.
    os.environ["PETRI_CELERY_QUEUE"] = prefix
    settings.CELERY_TASK_DEFAULT_QUEUE = prefix
    for layer in settings.CHANNEL_LAYERS.values():
        if "CONFIG" in layer:
            layer["CONFIG"]["prefix"] = prefix

    # Each test client builds its own middleware chain, and WhiteNoise's would list and stat
    # every static file (8 ms, over a thousand times a run); it finds them per request instead.
    # The served tests' servers keep the production setting and serve the web app's files.
    settings.WHITENOISE_AUTOREFRESH = True

    _state["hashers"] = list(settings.PASSWORD_HASHERS)
    settings.PASSWORD_HASHERS = [FAST_HASHER, *settings.PASSWORD_HASHERS]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep a module's served tests on one xdist worker (``--dist loadgroup``): fewer serves."""
    for item in items:
        if "petri_process" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(f"serve-{item.path.stem}"))
    if getattr(config.option, "loadgroup", False):  # xdist workers under --dist loadgroup
        _name_groups(items)
        # xdist hands work out in collection order: the longest first, so that none of them
        # starts last and leaves the other workers idle at the end.
        items.sort(key=_expected_length)


CLUSTER_GROUPS = ("kube-cluster", "slurm-cluster")  # each real cluster's tests: one worker


def _expected_length(item: pytest.Item) -> int:
    """0 for a real cluster's tests (one worker runs them all, minutes), then the served tests
    (in a row, so that they share a server: conftest's ServeKeeper), then other servers and
    browsers, then database tests, then the rest."""
    if any(m.args and m.args[0] in CLUSTER_GROUPS for m in item.iter_markers("xdist_group")):
        return 0
    if "petri_process" in getattr(item, "fixturenames", ()):
        return 1
    if item.get_closest_marker("browser") or item.get_closest_marker("system"):
        return 2
    return 3 if item.get_closest_marker("db") else 4


def _name_groups(items: list[pytest.Item]) -> None:
    """Suffix each grouped test's node id with ``@group``, as xdist's loadgroup expects.

    xdist 3.8 writes the suffix to ``item._nodeid``, which pytest 9 no longer reads (the id
    lives in ``item._id``): without this every grouped test would be scheduled alone.
    """
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        if names and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")


def pytest_unconfigure(config: pytest.Config) -> None:
    var = _state.pop("var", None)
    if var is not None:
        shutil.rmtree(var, ignore_errors=True)


@pytest.fixture(autouse=True)
def _real_password_hashing_where_marked(request: pytest.FixtureRequest):
    """``real_password_hashing`` tests hash their users' passwords for real (autouse: first)."""
    if request.node.get_closest_marker("real_password_hashing") is None:
        yield
        return
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=_state["hashers"]):
        yield
