"""Confine a process forked from a warm zygote to one job's directory (Linux syscalls via ctypes).

The zygote already runs in the local sandbox (bwrap); what its children share is the zygote's
mount namespace, which holds every warm job's directory under JOB_SPOOL. A child makes a user
and mount namespace of its own, binds its job's directory at JOB_ROOT, covers the spool (and
the zygote's socket) with empty tmpfs, then gives up every capability and turns off dumping,
so siblings cannot read its /proc files and it cannot undo the mounts.
"""

from __future__ import annotations

import ctypes
import os

JOB_ROOT = "/job"
JOB_SPOOL = "/petri-jobs"
SOCKET_DIR = "/run/petri-warm"

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
# nosuid, nodev, noexec, noatime, nodiratime, relatime (the same bits in statvfs' f_flag).
_LOCKED_FLAGS = 2 | 4 | 8 | 1024 | 2048 | 4096
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _bytes(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(_bytes(source), target.encode(), _bytes(fstype), flags, _bytes(data or None)),
        f"mount {target}",
    )


def confine_to_job(name: str, scratch_bytes: int | None = None) -> None:
    """Leave only ``JOB_SPOOL/name`` visible, at JOB_ROOT, and drop every privilege.

    The job also gets a /tmp and /dev/shm of its own (``scratch_bytes`` each, when given).
    """
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"bad job directory name {name!r}")
    uid, gid = os.getuid(), os.getgid()
    # Inherited from the zygote, "not dumpable" makes /proc/self root's: this process could not
    # write its own uid_map. It holds no job data yet; dumping goes off again below.
    _check(_libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    _check(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare")
    for path, text in (
        ("/proc/self/setgroups", "deny"),
        ("/proc/self/uid_map", f"{uid} {uid} 1"),
        ("/proc/self/gid_map", f"{gid} {gid} 1"),
    ):
        with open(path, "w") as handle:
            handle.write(text)
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount(f"{JOB_SPOOL}/{name}", JOB_ROOT, None, _MS_BIND | _MS_REC)
    # The job's inputs are copies of its own, but stay read-only as they do in a cold sandbox.
    for inside in (f"{JOB_ROOT}/input", f"{JOB_ROOT}/params.json"):
        if os.path.exists(inside):
            _mount(inside, inside, None, _MS_BIND)
            # A remount in a user namespace must keep the flags the mount came with.
            kept = os.statvfs(inside).f_flag & _LOCKED_FLAGS
            _mount(None, inside, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | kept)
    size = f",size={scratch_bytes}" if scratch_bytes else ""
    for scratch in ("/tmp", "/dev/shm"):
        _mount("tmpfs", scratch, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode=1777{size}")
    for hidden in (JOB_SPOOL, SOCKET_DIR):
        if os.path.isdir(hidden):
            _mount("tmpfs", hidden, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=4k,mode=0555")
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    # Mounts made above are undone only with CAP_SYS_ADMIN in this namespace: give it all up.
    _check(_libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), (_CapData * 2)()), "capset")
    _check(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")


def not_dumpable() -> None:
    """Keep processes of the same uid (the zygote's jobs) from reading or tracing this one."""
    _check(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")
