"""The HTTP side of the fake Kubernetes API server: routes, selectors, paging, Status answers."""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from scheduler.tests.kube.fake.cluster import FakeCluster

ROUTES = [
    (re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?$"), "jobs"),
    (re.compile(r"^/api/v1/namespaces/([^/]+)/secrets(?:/([^/]+))?$"), "secrets"),
    (re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$"), "log"),
    (re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?$"), "pods"),
    (re.compile(r"^/api/v1/()pods$"), "pods"),
    (re.compile(r"^/api/v1/()nodes(?:/([^/]+))?$"), "nodes"),
]
KINDS = {"jobs": ("batch/v1", "Job"), "secrets": ("v1", "Secret"), "pods": ("v1", "Pod")}
KINDS["nodes"] = ("v1", "Node")


_SET_TERM = re.compile(r"([^,\s]+)\s+(in|notin)\s+\(([^)]*)\)")


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for key, operator, values in _SET_TERM.findall(selector):
        members = {v.strip() for v in values.split(",")}
        if (labels.get(key) in members) != (operator == "in"):
            return False
    selector = _SET_TERM.sub("", selector)
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _field(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = (value or {}).get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def fields_match(selector: str, obj: dict[str, Any]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            path, value = term.split("!=", 1)
            if _field(obj, path) == value:
                return False
        else:
            path, value = term.replace("==", "=").split("=", 1)
            if _field(obj, path) != value:
                return False
    return True


def resource_of(path: str) -> str:
    for pattern, kind in ROUTES:
        if pattern.match(path):
            return kind
    return path


def status_body(code: int, reason: str, message: str, status: str = "Failure") -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": status,
        "reason": reason,
        "message": message,
        "code": code,
    }


class Handler(BaseHTTPRequestHandler):
    fake: FakeCluster
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, delayed ACKs cost 40 ms each.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass  # silence the default stderr log

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str, str | None, dict[str, str]] | None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.fake.requests.append((self.command, parts.path, query))
        for pattern, kind in ROUTES:
            match = pattern.match(parts.path)
            if match:
                groups = match.groups()
                return kind, groups[0], groups[1] if len(groups) > 1 else None, query
        return None

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _injected_failure(self, kind: str) -> bool:
        key = (self.command, kind)
        answers = self.fake.answers.get(key)
        if answers:
            code, message, headers = answers.pop(0)
            if not code:
                return False  # scripted "serve this one normally"
            reason = {403: "Forbidden", 422: "Invalid", 429: "TooManyRequests", 410: "Expired"}
            body = json.dumps(status_body(code, reason.get(code, "InternalError"), message))
            self.send_response(code)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())
            return True
        if self.fake.fail_next.get(key):
            self.fake.fail_next[key] -= 1
            self._send(500, status_body(500, "InternalError", "injected failure"))
            return True
        return False

    def do_POST(self):
        route = self._route()
        if route is None:
            return self._send(404, status_body(404, "NotFound", self.path))
        kind, namespace, _, _ = route
        body = self._body()
        if self._injected_failure(kind):
            return None
        code, answer = self.fake.create(kind, namespace, body)
        if self.fake.lose_next.get(kind):
            # Created, but the answer never arrives: the connection drops instead.
            self.fake.lose_next[kind] -= 1
            self.close_connection = True
            return None
        return self._send(code, answer)

    def do_DELETE(self):
        route = self._route()
        if route is None:
            return self._send(404, status_body(404, "NotFound", self.path))
        kind, namespace, name, query = route
        body = self._body()
        if self._injected_failure(kind):
            return None
        # Like the real API for batch/v1 Jobs, a delete that names no policy orphans the pods.
        policy = query.get("propagationPolicy") or body.get("propagationPolicy") or "Orphan"
        code, answer = self.fake.delete(kind, namespace, name, policy)
        return self._send(code, answer)

    def do_GET(self):
        route = self._route()
        if route is None:
            return self._send(404, status_body(404, "NotFound", self.path))
        kind, namespace, name, query = route
        if self._injected_failure(kind):
            return None
        fake = self.fake
        with fake.lock:
            if kind == "log":
                if (namespace, name) not in fake.objects["pods"]:
                    return self._send(404, status_body(404, "NotFound", f'pods "{name}" not found'))
                text = fake.logs.get(name, "")
                tail = query.get("tailLines")
                if tail is not None:
                    lines = text.splitlines(keepends=True)
                    text = "".join(lines[-int(tail) :]) if int(tail) else ""
                return self._send(200, text, "text/plain")
            store = fake.objects[kind]
            if name:
                obj = store.get((namespace, name))
                if obj is None:
                    return self._send(
                        404, status_body(404, "NotFound", f'{kind} "{name}" not found')
                    )
                return self._send(200, obj)
            items = [
                obj
                for (ns, _), obj in sorted(store.items())
                if (not namespace or ns == namespace)
                and selector_matches(query.get("labelSelector", ""), obj["metadata"]["labels"])
                and fields_match(query.get("fieldSelector", ""), obj)
            ]
        start = int(query.get("continue") or 0)
        limit = int(query.get("limit") or 0) or len(items) or 1
        page = items[start : start + limit]
        more = start + limit < len(items)
        api_version, kind_name = KINDS[kind]
        return self._send(
            200,
            {
                "apiVersion": api_version,
                "kind": f"{kind_name}List",
                "metadata": {
                    "resourceVersion": "1",
                    "continue": str(start + limit) if more else "",
                },
                "items": page,
            },
        )
