"""The attempt's directory: ``work/`` (the algorithm's copy), ``input/``, ``output/``, params."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petri_runner.errors import LocalFileError


@dataclass(frozen=True)
class Workspace:
    """Paths of one attempt's files under ``base``."""

    base: Path
    temporary: bool

    @classmethod
    def create(cls, base: Path | None, spool: Path | None = None) -> Workspace:
        """Use ``base`` (created if missing), or a fresh temporary directory when None.

        The temporary directory is made in ``spool`` when given (where warm zygotes find it);
        the uid jobs run as must be able to pass through it.
        """
        try:
            if base is None:
                made = Path(tempfile.mkdtemp(prefix="petri-", dir=spool)).resolve()
                if spool is not None:
                    made.chmod(0o755)
                return cls(made, temporary=True)
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LocalFileError(f"cannot create the work directory: {exc}") from None
        return cls(base, temporary=False)

    @property
    def work(self) -> Path:
        return self.base / "work"

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def inputs(self) -> Path:
        return self.base / "input"

    @property
    def params_file(self) -> Path:
        return self.base / "params.json"

    @property
    def dataset_file(self) -> Path:
        return self.inputs / "dataset.csv"

    @property
    def truth_file(self) -> Path:
        return self.inputs / "truth.json"

    @property
    def artifact_file(self) -> Path:
        return self.inputs / "code.archive"

    def prepare(self, algorithm_dir: Path | None, parameters: dict[str, Any]) -> None:
        """Lay out a fresh copy of the algorithm, empty input and output dirs, and params.

        Without ``algorithm_dir`` the work dir starts empty (uploaded code is unpacked there).
        """
        try:
            # A reused base may hold an earlier attempt's files; none of them may leak in.
            for stale in (self.work, self.output, self.inputs):
                shutil.rmtree(stale, ignore_errors=True)
            self.params_file.unlink(missing_ok=True)
            if algorithm_dir is None:
                self.work.mkdir()
            else:
                shutil.copytree(
                    algorithm_dir,
                    self.work,
                    ignore=shutil.ignore_patterns("__pycache__"),
                    ignore_dangling_symlinks=True,
                )
            self.output.mkdir()
            self.inputs.mkdir()
            self.params_file.write_text(json.dumps(parameters, indent=2) + "\n")
        except OSError as exc:
            raise LocalFileError(f"cannot prepare the work directory: {exc}") from None

    def cleanup(self, keep: bool) -> None:
        """Remove the directory if the runner made it and nobody asked to keep it."""
        if self.temporary and not keep:
            shutil.rmtree(self.base, ignore_errors=True)
