"""Algorithms that attack their sandbox from inside and report what they could reach."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile

# Reports, in output/probe.json, everything an attacker in the job would look at first.
PROBE = textwrap.dedent(
    """
    import json, os, socket, sys
    targets = json.loads(TARGETS)
    out = os.environ["PETRI_OUTPUT_DIR"]
    report = {"env": dict(os.environ), "uid": os.getuid(), "cwd": os.getcwd()}

    def status(line):
        for row in open("/proc/self/status"):
            if row.startswith(line + ":"):
                return row.split()[1]

    report["no_new_privs"] = status("NoNewPrivs")
    report["capabilities"] = status("CapEff")
    processes = {}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            raw = open(f"/proc/{pid}/cmdline", "rb").read()
            processes[pid] = raw.replace(b"\\0", b" ").decode()
        except OSError as exc:
            processes[pid] = f"unreadable: {exc.strerror}"
    report["processes"] = processes
    readable_environs = {}
    for pid in list(processes) + [str(p) for p in targets["pids"]]:
        try:
            raw = open(f"/proc/{pid}/environ", "rb").read()
            readable_environs[pid] = raw.decode(errors="replace")
        except OSError:
            pass
    report["readable_environs"] = readable_environs
    report["visible"] = {path: os.path.exists(path) for path in targets["hidden"]}
    report["tmp"] = sorted(os.listdir("/tmp"))  # before the probe writes there itself
    writes = {}
    mine = ["./mine.txt", os.path.join(out, "mine.txt"), "/tmp/mine.txt"]
    params = os.environ["PETRI_PARAMS_FILE"]
    inputs = [params, os.path.join(os.path.dirname(params), "input", "mine.txt")]
    for path in targets["unwritable"] + inputs + mine:
        try:
            existed = os.path.exists(path)
            with open(path, "a") as handle:
                handle.write("x")
            writes[path] = "written"
            if not existed:  # a broken sandbox must not leave files in the server's dirs
                os.remove(path)
        except OSError as exc:
            writes[path] = exc.strerror
    report["writes"] = writes
    connections = {}
    for port in targets["ports"]:
        with socket.socket() as sock:
            sock.settimeout(2)
            try:
                sock.connect(("127.0.0.1", port))
                connections[str(port)] = "connected"
            except OSError as exc:
                connections[str(port)] = exc.strerror or type(exc).__name__
    report["connections"] = connections
    import multiprocessing
    import numpy
    report["numpy"] = numpy.__version__
    with multiprocessing.Pool(2) as pool:  # semaphores in /dev/shm, worker processes
        report["multiprocessing"] = pool.map(abs, [-1, -2])
    with open(os.path.join(out, "probe.json"), "w") as handle:
        json.dump(report, handle)
    """
)

# One job per way of exhausting the machine; each must end with the limit it hit named.
HOGS = textwrap.dedent(
    """
    import json, os, time
    mode = json.load(open(os.environ["PETRI_PARAMS_FILE"]))["mode"]
    print("hog:", mode, flush=True)
    if mode == "fork":
        while True:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
    elif mode == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(64 * 1024 * 1024))
    elif mode == "cpu":
        while True:
            pass
    elif mode == "tmp":
        for n in range(100_000):
            with open(f"/tmp/{n}.bin", "wb") as handle:
                handle.write(b"x" * 1024 * 1024)
    elif mode == "file":
        with open("huge.bin", "wb") as handle:
            while True:
                handle.write(b"x" * 1024 * 1024)
                handle.flush()
    """
)
HOG_SCHEMA = {"mode": {"type": "choice", "values": ["fork", "memory", "cpu", "file", "tmp"]}}


def probe_source(targets: dict) -> str:
    """The probe with what to look for (paths, pids, ports) baked in."""
    return f"TARGETS = {json.dumps(json.dumps(targets))}\n{PROBE}"


def zipped(source: str, name: str = "main.py") -> io.BytesIO:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), source)
    stream.seek(0)
    stream.name = "code.zip"
    return stream
