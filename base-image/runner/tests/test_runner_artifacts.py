"""Uploaded code: safe unpacking of zip and tar.gz archives, and the runner refusing bad ones."""

from __future__ import annotations

import io
import stat
import tarfile
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from petri_runner.config import Config
from petri_runner.errors import ConfigError
from petri_runner.unpack import UnsafeArchive, unpack
from runner_testkit import FakeApi, make_spec, runner_env

ARTIFACT = "/api/runner/artifact/"
MB = 1024 * 1024

Entry = tuple[str, str, bytes | str]  # (kind, name, content or link target)


def make_zip(path: Path, entries: list[Entry]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for kind, name, content in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if kind == "symlink":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            elif kind == "fifo":
                info.external_attr = (stat.S_IFIFO | 0o644) << 16
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            zipped.writestr(info, content)
    return path


def make_tar(path: Path, entries: list[Entry]) -> Path:
    with tarfile.open(path, "w:gz") as tarred:
        for kind, name, content in entries:
            info = tarfile.TarInfo(name)
            data = b""
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, str(content)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, str(content)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "device":
                info.type = tarfile.CHRTYPE
            else:
                data = content if isinstance(content, bytes) else content.encode()
                info.size = len(data)
            tarred.addfile(info, io.BytesIO(data))
    return path


MAKERS: dict[str, Callable[[Path, list[Entry]], Path]] = {"zip": make_zip, "tar": make_tar}


@pytest.fixture(params=["zip", "tar"])
def archive(request, tmp_path: Path) -> Callable[[list[Entry]], Path]:
    def build(entries: list[Entry]) -> Path:
        return MAKERS[request.param](tmp_path / f"code.{request.param}", entries)

    return build


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "sandbox" / "work"
    path.mkdir(parents=True)
    return path


def test_a_plain_archive_unpacks_files_and_folders(archive, dest: Path) -> None:
    path = archive([("file", "main.py", b"print(1)\n"), ("file", "lib/util.py", b"x = 1\n")])

    count = unpack(path, dest, max_bytes=MB, max_files=10)

    assert count == 2
    assert (dest / "main.py").read_bytes() == b"print(1)\n"
    assert (dest / "lib" / "util.py").read_text() == "x = 1\n"


def test_a_symlink_pointing_down_into_the_tree_is_kept(archive, dest: Path) -> None:
    path = archive([("file", "lib/util.py", b"x"), ("symlink", "util.py", "lib/util.py")])

    unpack(path, dest, max_bytes=MB, max_files=10)

    assert (dest / "util.py").is_symlink()
    assert (dest / "util.py").read_text() == "x"


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([("file", "/tmp/petri-evil.txt", b"x")], "absolute"),
        ([("file", "../evil.txt", b"x")], "climbs out"),
        ([("file", "lib/../../evil.txt", b"x")], "climbs out"),
        ([("symlink", "escape", "/etc")], "points outside"),
        ([("symlink", "escape", "../..")], "points outside"),
        ([("symlink", "up", "../outside"), ("file", "up/evil.txt", b"x")], "points outside"),
        ([("fifo", "pipe", b"")], "device, FIFO"),
    ],
    ids=["absolute", "dotdot", "nested-dotdot", "symlink-abs", "symlink-up", "write-via", "fifo"],
)
def test_a_malicious_archive_is_refused_and_writes_nothing_outside(
    archive, dest: Path, entries: list[Entry], reason: str
) -> None:
    path = archive(entries)
    outside_before = sorted(p.name for p in dest.parent.parent.iterdir())

    with pytest.raises(UnsafeArchive, match=reason):
        unpack(path, dest, max_bytes=MB, max_files=10)

    assert sorted(p.name for p in dest.parent.parent.iterdir()) == outside_before
    assert sorted(p.name for p in dest.parent.iterdir()) == ["work"]
    assert not Path("/tmp/petri-evil.txt").exists()


def test_a_tar_hard_link_to_a_file_outside_is_refused(tmp_path: Path, dest: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    path = make_tar(tmp_path / "code.tar", [("hardlink", "copy.txt", "../../secret.txt")])

    with pytest.raises(UnsafeArchive, match="climbs out"):
        unpack(path, dest, max_bytes=MB, max_files=10)
    assert not (dest / "copy.txt").exists()


def test_a_tar_hard_link_through_a_symlink_out_is_refused(tmp_path: Path, dest: Path) -> None:
    path = make_tar(
        tmp_path / "code.tar",
        [("symlink", "etc", "etc-inside"), ("hardlink", "passwd", "/etc/passwd")],
    )

    with pytest.raises(UnsafeArchive, match="absolute"):
        unpack(path, dest, max_bytes=MB, max_files=10)


def test_a_tar_hard_link_to_a_file_inside_becomes_a_copy(tmp_path: Path, dest: Path) -> None:
    path = make_tar(
        tmp_path / "code.tar", [("file", "a.txt", b"same"), ("hardlink", "b.txt", "a.txt")]
    )

    unpack(path, dest, max_bytes=MB, max_files=10)

    assert (dest / "b.txt").read_text() == "same"
    assert not (dest / "b.txt").is_symlink()


def test_a_tar_device_file_is_refused(tmp_path: Path, dest: Path) -> None:
    path = make_tar(tmp_path / "code.tar", [("device", "null", b"")])

    with pytest.raises(UnsafeArchive, match="device"):
        unpack(path, dest, max_bytes=MB, max_files=10)


def test_a_bomb_by_size_stops_at_the_byte_cap(archive, dest: Path) -> None:
    # 8 MB of zeros compress to a few kB: the cap counts bytes written, not declared.
    path = archive([("file", "zeros.bin", bytes(8 * MB))])
    assert path.stat().st_size < 100_000

    with pytest.raises(UnsafeArchive, match="more than 1 MB"):
        unpack(path, dest, max_bytes=MB, max_files=10)


def test_a_bomb_by_count_stops_at_the_file_cap(archive, dest: Path) -> None:
    path = archive([("file", f"f{i}.txt", b"") for i in range(50)])

    with pytest.raises(UnsafeArchive, match="more than 20 entries"):
        unpack(path, dest, max_bytes=MB, max_files=20)
    assert len(list(dest.iterdir())) <= 20


def test_a_file_that_is_no_archive_is_refused(tmp_path: Path, dest: Path) -> None:
    path = tmp_path / "code.bin"
    path.write_bytes(b"#!/bin/sh\necho hi\n")

    with pytest.raises(UnsafeArchive, match="not a zip or tar"):
        unpack(path, dest, max_bytes=MB, max_files=10)


def test_the_caps_come_from_the_environment() -> None:
    base = {"PETRI_API_URL": "http://x", "PETRI_JOB_TOKEN": "t"}
    config = Config.from_env(
        {**base, "PETRI_RUNNER_MAX_UNPACKED_MB": "5", "PETRI_RUNNER_MAX_FILES": "7"}
    )
    assert (config.max_unpacked_bytes, config.max_files) == (5 * MB, 7)
    assert Config.from_env(base).max_files == 10_000
    with pytest.raises(ConfigError, match="PETRI_RUNNER_MAX_FILES"):
        Config.from_env({**base, "PETRI_RUNNER_MAX_FILES": "0"})


MAIN = textwrap.dedent(
    """
    import json, os, pathlib
    params = json.loads(pathlib.Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    out = pathlib.Path(os.environ["PETRI_OUTPUT_DIR"])
    (out / "metrics.json").write_text(json.dumps({"double": params["x"] * 2}))
    """
)


def run_with_artifact(tmp_path: Path, launch, content: bytes, **env: str) -> FakeApi:
    spec = make_spec("artifact-1-abc", parameters={"x": 21}, artifact_url=ARTIFACT)
    with FakeApi(spec) as api:
        api.downloads[ARTIFACT] = content
        # No catalog folder exists for it: the code can only come from the artifact.
        proc = launch(runner_env(api.url, tmp_path / "no-catalog", **env))
        proc.communicate(timeout=60)
        assert proc.returncode == 0
    return api


def test_the_runner_unpacks_uploaded_code_and_runs_it(tmp_path: Path, launch) -> None:
    path = make_zip(tmp_path / "code.zip", [("file", "main.py", MAIN.encode())])

    api = run_with_artifact(tmp_path, launch, path.read_bytes())

    assert api.results() == [
        {
            "status": "succeeded",
            "exit_code": 0,
            "metrics": {"double": 42},
            "error": None,
            "failure_reason": None,
        }
    ]
    assert any("unpacked 1 entries" in line for line in api.log_lines())


def test_the_runner_fails_the_attempt_on_a_malicious_archive(tmp_path: Path, launch) -> None:
    path = make_tar(
        tmp_path / "code.tar", [("file", "main.py", MAIN), ("file", "../../escape.py", b"x")]
    )

    api = run_with_artifact(tmp_path, launch, path.read_bytes())

    [result] = api.results()
    assert result["status"] == "failed"
    assert result["failure_reason"] == "algorithm_error"
    assert "uploaded code refused" in result["error"]
    assert "climbs out" in result["error"]
    assert not (tmp_path / "escape.py").exists()


def test_the_runner_fails_the_attempt_on_a_bomb(tmp_path: Path, launch) -> None:
    path = make_zip(tmp_path / "code.zip", [("file", "big.bin", bytes(3 * MB))])

    api = run_with_artifact(tmp_path, launch, path.read_bytes(), PETRI_RUNNER_MAX_UNPACKED_MB="1")

    [result] = api.results()
    assert result["status"] == "failed"
    assert "more than 1 MB" in result["error"]
