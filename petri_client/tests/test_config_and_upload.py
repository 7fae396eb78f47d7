"""The CLI's saved login and the zipping of a code folder, without a server."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

from petri_client.client import zip_folder
from petri_client.config import Config, load_config, save_config


def test_the_login_is_saved_as_url_and_key_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("PETRI_URL", raising=False)
    monkeypatch.delenv("PETRI_TOKEN", raising=False)
    path = save_config(Config(url="http://127.0.0.1:8000", key="petri_abc"))
    assert json.loads(path.read_text()) == {"url": "http://127.0.0.1:8000", "key": "petri_abc"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_config() == Config(url="http://127.0.0.1:8000", key="petri_abc")


def test_a_config_written_before_the_key_was_called_key_still_signs_in(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("PETRI_URL", raising=False)
    monkeypatch.delenv("PETRI_TOKEN", raising=False)
    (tmp_path / "petri").mkdir()
    (tmp_path / "petri" / "config.json").write_text('{"url": "http://h", "token": "petri_old"}')
    assert load_config().key == "petri_old"
    monkeypatch.setenv("PETRI_TOKEN", "petri_env")
    assert load_config().key == "petri_env"


def test_a_code_folder_zips_to_the_same_bytes_every_time(tmp_path):
    folder = tmp_path / "code"
    (folder / "lib").mkdir(parents=True)
    (folder / "main.py").write_text("print(1)\n")
    (folder / "lib" / "util.py").write_text("X = 2\n")
    first = zip_folder(folder)
    os.utime(folder / "main.py", (0, 0))  # another checkout: other timestamps, same files
    assert zip_folder(folder) == first
    archive = zipfile.ZipFile(io.BytesIO(first))
    assert sorted(archive.namelist()) == ["lib/util.py", "main.py"]
    assert archive.read("lib/util.py") == b"X = 2\n"
