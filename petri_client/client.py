"""The REST client: one method per call the CLI and scripts need, standard library only."""

from __future__ import annotations

import io
import json
import mimetypes
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from petri_client.config import Config, load_config


def zip_folder(folder: Path) -> bytes:
    """The folder's files as a zip, paths relative to it, in a stable order and with fixed
    timestamps so the same code gives the same bytes (and so the same artifact)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(file.relative_to(folder).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.external_attr = (file.stat().st_mode & 0o777) << 16
            archive.writestr(info, file.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def client_name() -> str:
    """The token's name: signing in again from this host replaces this host's token only."""
    return f"petri CLI on {socket.gethostname() or 'unknown host'}"[:100]


Json = dict[str, Any]
FINAL_STATUSES = ("succeeded", "failed", "cancelled", "pruned")


class PetriError(Exception):
    """Anything that stops a call: the message is one line a person can act on."""


class ApiError(PetriError):
    """The server answered with an error status; ``body`` is its decoded answer."""

    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body
        super().__init__(describe_error(status, body))


def _flatten(body: Any, prefix: str = "") -> list[str]:
    """``{"resources": {"gpu": ["too many"]}}`` as ``["resources.gpu: too many"]``."""
    if isinstance(body, dict):
        lines = []
        for key, value in body.items():
            name = key if key not in ("detail", "non_field_errors") else ""
            lines += _flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name)
        return lines
    if isinstance(body, list):
        return [line for item in body for line in _flatten(item, prefix)]
    return [f"{prefix}: {body}" if prefix else str(body)]


def describe_error(status: int, body: Any) -> str:
    if status == 401:
        return "not signed in or the token is no longer valid: run `petri login`"
    if status == 404:
        return "not found"
    if isinstance(body, dict | list) and body:
        return "; ".join(_flatten(body))
    text = str(body or "").strip().splitlines()
    return f"the server answered {status}" + (f": {text[0][:200]}" if text else "")


class Client:
    """A signed-in connection to one Petri server."""

    def __init__(self, url: str, key: str = "", timeout: float = 30.0):
        if not url:
            raise PetriError("no Petri server: run `petri login` or set PETRI_URL")
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: Config | None = None) -> Client:
        config = config or load_config()
        if not config.key:
            raise PetriError("not signed in: run `petri login` or set PETRI_TOKEN")
        return cls(config.url, config.key)

    # -- transport --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        content_type: str = "",
        raw: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = path if path.startswith("http") else f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        headers = {"Accept": "application/json", **(headers or {})}
        if self.key:
            headers["Authorization"] = f"Token {self.key}"
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            try:
                decoded: Any = json.loads(text)
            except ValueError:
                decoded = text
            raise ApiError(exc.code, decoded) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PetriError(f"cannot reach {self.url}: {reason}") from None
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def _all(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Json]:
        """Every item of a paginated list, following ``next``."""
        page: Any = self.request("GET", path, params={"page_size": 1000, **(params or {})})
        while True:
            if isinstance(page, list):  # an unpaginated list
                yield from page
                return
            yield from page["results"]
            if not page.get("next"):
                return
            page = self.request("GET", page["next"])

    # -- the API ----------------------------------------------------------------------------

    @classmethod
    def login(cls, url: str, username: str, password: str, name: str = "") -> Client:
        """Exchange a username and password for this client's token (replacing its last one)."""
        anonymous = cls(url)
        answer = anonymous.request(
            "POST",
            "/api/auth/token/",
            body={"username": username, "password": password, "name": name or client_name()},
        )
        return cls(url, answer["key"])

    def algorithms(self) -> list[Json]:
        return list(self._all("/api/algorithms/"))

    def datasets(self) -> list[Json]:
        return list(self._all("/api/datasets/"))

    def upload_dataset(self, path: str | Path, name: str = "") -> Json:
        """Upload a CSV; the server answers with the existing dataset for the same bytes."""
        return self._upload("/api/datasets/", Path(path), name, "text/csv")

    def upload_artifact(self, path: str | Path, name: str = "") -> Json:
        """Upload code: a zip or tar.gz, or a folder (zipped here); same bytes, same artifact."""
        path = Path(path)
        if path.is_dir():
            zipped = Path(f"{path.resolve().name or 'code'}.zip")
            return self._upload(
                "/api/artifacts/", zipped, name, "application/zip", zip_folder(path)
            )
        return self._upload("/api/artifacts/", path, name, "application/octet-stream")

    def _upload(
        self, endpoint: str, path: Path, name: str, default_type: str, content: bytes | None = None
    ) -> Json:
        if content is None:
            try:
                content = path.read_bytes()
            except OSError as exc:
                raise PetriError(f"cannot read {path}: {exc.strerror}") from None
        boundary = f"petri-{secrets.token_hex(12)}"
        kind = mimetypes.guess_type(path.name)[0] or default_type
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
            f"{name or path.name}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: {kind}\r\n\r\n'.encode(),
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        return self.request(
            "POST",
            endpoint,
            data=b"".join(parts),
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    def submit(self, spec: Json) -> Json:
        return self.request("POST", "/api/experiments/", body=spec)

    def experiment(self, experiment_id: int) -> Json:
        return self.request("GET", f"/api/experiments/{experiment_id}/")

    def jobs(self, experiment_id: int, status: str | None = None) -> list[Json]:
        params: dict[str, Any] = {"experiment": experiment_id, "ordering": "id"}
        if status:
            params["status"] = status
        return list(self._all("/api/jobs/", params))

    def job(self, job_id: int) -> Json:
        return self.request("GET", f"/api/jobs/{job_id}/")

    def log(self, job_id: int, after: int = 0) -> Json:
        """One page of log lines after ``cursor``: ``{"lines", "cursor", "more"}``."""
        return self.request("GET", f"/api/jobs/{job_id}/log/", params={"after": after})

    def experiments(self, **filters: Any) -> list[Json]:
        return list(self._all("/api/experiments/", filters))

    def update_experiment(self, experiment_id: int, **changes: Any) -> Json:
        """Change its ``name``, ``notes``, ``tags`` (the whole list) or ``archived``."""
        return self.request("PATCH", f"/api/experiments/{experiment_id}/", body=changes)

    def delete_experiment(self, experiment_id: int) -> None:
        """Delete it with its jobs, results and files (refused while jobs are unfinished)."""
        self.request("DELETE", f"/api/experiments/{experiment_id}/")

    def extend_experiment(
        self, experiment_id: int, parameters: Json | None = None, repeats: int | None = None
    ) -> Json:
        """Add values per parameter, or repeats: ``{"added": n, "experiment": {...}}``."""
        body: Json = {}
        if parameters is not None:
            body["parameters"] = parameters
        if repeats is not None:
            body["repeats"] = repeats
        return self.request("POST", f"/api/experiments/{experiment_id}/extend/", body=body)

    def results_frame(self, experiment_id: int) -> Any:
        """The experiment's jobs as a pandas DataFrame (pandas is imported only here)."""
        from petri_client.frames import jobs_frame

        return jobs_frame(self.jobs(experiment_id))

    def study(self, experiment_id: int) -> Json:
        """A search's trials, best so far, parameter importance and Pareto front."""
        return self.request("GET", f"/api/experiments/{experiment_id}/study/")

    def study_frame(self, experiment_id: int) -> Any:
        """A search's history as Optuna's ``Study.trials_dataframe()`` shows one (needs pandas)."""
        from petri_client.frames import study_frame

        return study_frame(self.study(experiment_id))

    def retry_experiment(self, experiment_id: int) -> Json:
        """Every failed job queued again: ``{"retried": n}``."""
        return self.request("POST", f"/api/experiments/{experiment_id}/retry/")

    def retry_job(self, job_id: int) -> Json:
        return self.request("POST", f"/api/jobs/{job_id}/retry/")

    def compare(self, job_id: int, other: str) -> Json:
        """The job's graph against ``truth`` or another job's (SHD, precision, recall...)."""
        return self.request("GET", f"/api/jobs/{job_id}/compare/", params={"with": other})

    def export_csv(self, experiment_id: int) -> bytes:
        """The API's export.csv as it was sent: the one CSV format of an experiment."""
        headers = {"Accept": "*/*"}
        return self.request(
            "GET", f"/api/experiments/{experiment_id}/export.csv", raw=True, headers=headers
        )

    def cancel_experiment(self, experiment_id: int) -> Json:
        return self.request("POST", f"/api/experiments/{experiment_id}/cancel/")

    def cancel_job(self, job_id: int) -> Json:
        return self.request("POST", f"/api/jobs/{job_id}/cancel/")

    def nodes(self) -> list[Json]:
        return self.request("GET", "/api/nodes/")

    def usage(self, user: str = "") -> list[Json]:
        return self.request("GET", "/api/usage/", params={"user": user} if user else None)

    def schedules(self) -> list[Json]:
        return list(self._all("/api/schedules/"))

    def create_schedule(
        self, experiment_id: int = 0, pipeline_id: int = 0, **schedule: Any
    ) -> Json:
        """``cron="0 3 * * *"`` or ``every_seconds=3600``; ``newest_datasets``, ``enabled``."""
        what = {"pipeline": pipeline_id} if pipeline_id else {"experiment": experiment_id}
        return self.request("POST", "/api/schedules/", body={**what, **schedule})

    def update_schedule(self, schedule_id: int, **changes: Any) -> Json:
        return self.request("PATCH", f"/api/schedules/{schedule_id}/", body=changes)

    def delete_schedule(self, schedule_id: int) -> None:
        self.request("DELETE", f"/api/schedules/{schedule_id}/")

    def submit_pipeline(self, spec: Json) -> Json:
        return self.request("POST", "/api/pipelines/", body=spec)

    def pipeline(self, pipeline_id: int) -> Json:
        return self.request("GET", f"/api/pipelines/{pipeline_id}/")

    def pipelines(self) -> list[Json]:
        return list(self._all("/api/pipelines/"))

    def cancel_pipeline(self, pipeline_id: int) -> Json:
        return self.request("POST", f"/api/pipelines/{pipeline_id}/cancel/")

    def retry_pipeline(self, pipeline_id: int) -> Json:
        return self.request("POST", f"/api/pipelines/{pipeline_id}/retry/")

    def pipeline_table(self, pipeline_id: int, stage: str = "") -> Json:
        """A compare stage's table: ``{"stage", "columns", "rows", "truncated"}``."""
        params = {"stage": stage} if stage else None
        return self.request("GET", f"/api/pipelines/{pipeline_id}/table/", params=params)
