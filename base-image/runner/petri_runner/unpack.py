"""Unpacking uploaded code (zip or tar.gz) without letting it write outside its directory."""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

CHUNK_BYTES = 1024 * 1024


class UnsafeArchive(Exception):
    """The archive is not one the runner will unpack; the message says why."""


class _Budget:
    """Counts files and bytes written, refusing the one past either cap (archive bombs)."""

    def __init__(self, max_bytes: int, max_files: int) -> None:
        self.max_bytes, self.max_files = max_bytes, max_files
        self.bytes = self.files = 0

    def add_file(self, name: str) -> None:
        self.files += 1
        if self.files > self.max_files:
            raise UnsafeArchive(f"more than {self.max_files} entries (at {name!r})")

    def add_bytes(self, count: int, name: str) -> None:
        self.bytes += count
        if self.bytes > self.max_bytes:
            limit = self.max_bytes / (1024 * 1024)
            raise UnsafeArchive(f"unpacks to more than {limit:g} MB (at {name!r})")


def unpack(archive: Path, dest: Path, *, max_bytes: int, max_files: int) -> int:
    """Unpack ``archive`` into ``dest`` (an empty directory); return the number of entries."""
    with archive.open("rb") as handle:
        head = handle.read(4)
    budget = _Budget(max_bytes, max_files)
    root = dest.resolve()
    try:
        if head.startswith(b"PK"):
            _unzip(archive, root, budget)
        elif head.startswith(b"\x1f\x8b"):
            _untar(archive, root, budget)
        else:
            raise UnsafeArchive("not a zip or tar.gz archive")
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        zlib.error,
        NotImplementedError,  # a compression method zipfile lacks
        RuntimeError,  # an encrypted zip member
        ValueError,
    ) as exc:
        raise UnsafeArchive(f"damaged archive: {exc}") from None
    return budget.files


def _member_path(root: Path, name: str) -> Path:
    """Where a member goes: a relative path with no ``..``, checked again after resolving."""
    # Backslashes count as separators here too, so a Windows-made "..\\x" is refused.
    relative = PurePosixPath(name.replace("\\", "/"))
    if not name or "\0" in name or relative.is_absolute() or name[:1] in ("/", "\\"):
        raise UnsafeArchive(f"absolute or empty path {name!r}")
    if ".." in relative.parts or (relative.parts and ":" in relative.parts[0]):
        raise UnsafeArchive(f"path {name!r} climbs out of the work directory")
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    target = root.joinpath(*parts)
    # A symlink unpacked earlier must not carry later members elsewhere.
    if parts and not _inside(root, target.parent.resolve()):
        raise UnsafeArchive(f"path {name!r} leads outside through a link")
    return target


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _check_link(name: str, link: str) -> None:
    """A symlink may only point down into the tree: relative, without ``..``."""
    target = PurePosixPath(link)
    if not link or len(link) > 4096 or "\0" in link:
        raise UnsafeArchive(f"link {name!r} has no usable target")
    if target.is_absolute() or ".." in target.parts:
        raise UnsafeArchive(f"link {name!r} points outside ({link!r})")


def _make_parent(root: Path, target: Path, name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(root, target.parent.resolve()):
        raise UnsafeArchive(f"path {name!r} leads outside through a link")
    if target.is_symlink():
        raise UnsafeArchive(f"{name!r} would write through a link")


def _copy(source: IO[bytes], target: Path, name: str, budget: _Budget, mode: int) -> None:
    # O_NOFOLLOW | O_EXCL: never write through a link, never reuse a file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o755 if mode & 0o111 else 0o644)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(CHUNK_BYTES):
            budget.add_bytes(len(chunk), name)
            out.write(chunk)


def _unzip(archive: Path, root: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zipped:
        infos = zipped.infolist()
        if len(infos) > budget.max_files:
            raise UnsafeArchive(f"more than {budget.max_files} entries")
        for info in infos:
            budget.add_file(info.filename)
            target = _member_path(root, info.filename)
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            _make_parent(root, target, info.filename)
            if kind == stat.S_IFLNK:
                with zipped.open(info) as source:
                    link = source.read(4097).decode("utf-8", "replace")
                _check_link(info.filename, link)
                os.symlink(link, target)
            elif kind in (0, stat.S_IFREG):
                with zipped.open(info) as source:
                    _copy(source, target, info.filename, budget, mode)
            else:
                raise UnsafeArchive(f"{info.filename!r} is a device, FIFO or socket")


def _tar_members(tarred: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while (member := tarred.next()) is not None:
        yield member


def _untar(archive: Path, root: Path, budget: _Budget) -> None:
    # Stream mode: members are read once, in order, never by seeking back.
    with tarfile.open(archive, mode="r|gz") as tarred:
        for member in _tar_members(tarred):
            budget.add_file(member.name)
            target = _member_path(root, member.name)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            _make_parent(root, target, member.name)
            if member.issym():
                _check_link(member.name, member.linkname)
                os.symlink(member.linkname, target)
            elif member.islnk():
                # A hard link becomes a copy of a file already unpacked inside the tree.
                source = _member_path(root, member.linkname)
                real = source.resolve()
                if not _inside(root, real) or not real.is_file():
                    raise UnsafeArchive(f"hard link {member.name!r} points outside")
                with real.open("rb") as handle:
                    _copy(handle, target, member.name, budget, real.stat().st_mode)
            elif member.isreg():
                source = tarred.extractfile(member)
                assert source is not None
                with source:
                    _copy(source, target, member.name, budget, member.mode)
            else:
                raise UnsafeArchive(f"{member.name!r} is a device, FIFO or socket")


def clear(directory: Path) -> None:
    """Empty ``directory`` after a refused archive, so nothing half-unpacked runs."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
