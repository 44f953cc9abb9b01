"""The control plane (`/api/sandbox...`): sandbox records, their JSON, and the routes the SDK
calls to create, find, list, label, stop, start and delete them."""

from __future__ import annotations

import asyncio
import json
import posixpath
import shlex
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from .jail import HOME, Jail
from .wire import ApiError, iso, json_body

ORGANIZATION_ID = "local-organization"
DEFAULT_SNAPSHOT = "daytonaio/sandbox:local"
_DEFAULTS = {"cpu": 1, "gpu": 0, "memory": 1, "disk": 3}


@dataclass(frozen=True)
class SandboxInfo:
    """A live sandbox as the server sees it (`LocalDaytona.sandboxes()`)."""

    id: str
    name: str
    labels: dict[str, str]
    state: str
    created_at: datetime
    root: Path
    image: str | None
    snapshot: str | None


@dataclass(frozen=True)
class CreateRequest:
    """A create request as it arrived (`LocalDaytona.create_requests`): what a test compares
    with what the SDK sends."""

    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class SandboxRecord:
    id: str
    name: str
    jail: Jail
    created_at: float
    ready_at: float
    labels: dict[str, str]
    env: dict[str, str]
    image: str | None
    snapshot: str | None
    settings: dict[str, Any]  # the create body's other fields, camelCase as on the wire
    status: str = "started"  # started | stopped | error; creating/starting derive from ready_at
    error_reason: str | None = None
    updated_at: float = field(default_factory=time.time)
    sessions: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        if self.status == "started" and time.time() < self.ready_at:
            halfway = self.created_at + (self.ready_at - self.created_at) / 2
            return "creating" if time.time() < halfway else "starting"
        return self.status

    def info(self) -> SandboxInfo:
        return SandboxInfo(
            id=self.id,
            name=self.name,
            labels=dict(self.labels),
            state=self.state,
            created_at=datetime.fromtimestamp(self.created_at, UTC),
            root=self.jail.root,
            image=self.image,
            snapshot=self.snapshot,
        )

    def to_json(self, toolbox_url: str, state: str | None = None) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {
            "id": self.id,
            "organizationId": ORGANIZATION_ID,
            "name": self.name,
            "user": "daytona",
            "env": dict(self.env),
            "labels": dict(self.labels),
            "public": bool(s.get("public", False)),
            "networkBlockAll": not self.jail.network,
            "kvm": False,
            "target": s.get("target") or "local",
            **{key: s[key] for key in _DEFAULTS},
            "state": state or self.state,
            "desiredState": "stopped" if self.status == "stopped" else "started",
            "autoStopInterval": s.get("autoStopInterval", 15),
            "autoArchiveInterval": s.get("autoArchiveInterval", 10080),
            "autoDeleteInterval": s.get("autoDeleteInterval", -1),
            "volumes": [],
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "daemonVersion": "local",
            "toolboxProxyUrl": toolbox_url,
        }
        if self.snapshot:
            body["snapshot"] = self.snapshot
        if s.get("buildInfo"):
            body["buildInfo"] = {
                "dockerfileContent": s["buildInfo"].get("dockerfileContent"),
                "contextHashes": s["buildInfo"].get("contextHashes") or [],
                "snapshotRef": self.image or "",
                "createdAt": iso(self.created_at),
                "updatedAt": iso(self.created_at),
            }
        if self.error_reason:
            body["errorReason"] = self.error_reason
        return body


SANDBOX = web.RequestKey("sandbox", SandboxRecord)
"""Where the server's middleware puts the sandbox a toolbox request is for."""


def parse_dockerfile(text: str) -> tuple[str | None, str | None, dict[str, str]]:
    """(base image of the first FROM, last WORKDIR, ENV values). RUN/COPY cannot be honoured."""
    image = workdir = None
    env: dict[str, str] = {}
    for raw in text.splitlines():
        words = raw.strip().split(None, 1)
        if len(words) < 2:
            continue
        op, rest = words[0].upper(), words[1]
        if op == "FROM" and image is None:
            image = next((w for w in rest.split() if not w.startswith("--")), None)
        elif op == "WORKDIR":
            workdir = rest.strip()
        elif op == "ENV":
            pairs = shlex.split(rest)
            if pairs and "=" not in pairs[0]:  # legacy `ENV KEY value`
                env[pairs[0]] = " ".join(pairs[1:])
            else:
                for pair in pairs:
                    if "=" in pair:
                        key, _, value = pair.partition("=")
                        env[key] = value
    return image, workdir, env


def _int_field(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{key} must be an integer, got {value!r}")
    return value


class Registry:
    """All sandboxes of one server. Handlers run on the server's loop thread; the public
    `LocalDaytona` methods read it from the test's thread, hence the lock."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.toolbox_url = ""
        self.create_delay = 0.0
        #: Programs the next sandboxes' image lacks (e.g. "/usr/bin/bwrap").
        self.missing_programs: tuple[str, ...] = ()
        self.lock = threading.RLock()
        self._sandboxes: dict[str, SandboxRecord] = {}
        self.create_requests: list[CreateRequest] = []

    def get(self, id_or_name: str) -> SandboxRecord:
        with self.lock:
            record = self._sandboxes.get(id_or_name)
            if record is None:
                record = next((r for r in self._sandboxes.values() if r.name == id_or_name), None)
        if record is None:
            raise ApiError(404, f"Sandbox with ID or name {id_or_name} not found")
        return record

    def all(self) -> list[SandboxRecord]:
        with self.lock:
            return sorted(self._sandboxes.values(), key=lambda r: r.created_at)

    def create(self, body: dict[str, Any]) -> SandboxRecord:
        sandbox_id = str(uuid.uuid4())
        name = body.get("name") or sandbox_id
        dockerfile = (body.get("buildInfo") or {}).get("dockerfileContent") or ""
        image, workdir, image_env = parse_dockerfile(dockerfile)
        workdir = posixpath.normpath(posixpath.join(HOME, workdir)) if workdir else HOME
        snapshot = body.get("snapshot") or (None if image else DEFAULT_SNAPSHOT)
        settings = {k: v for k, v in body.items() if k not in ("name", "labels", "env", "snapshot")}
        for key, default in _DEFAULTS.items():
            settings[key] = _int_field(body, key, default)
        for key in ("autoStopInterval", "autoArchiveInterval", "autoDeleteInterval"):
            if key in body:
                settings[key] = _int_field(body, key, 0)
        labels, env = body.get("labels") or {}, body.get("env") or {}
        for what, mapping in (("labels", labels), ("env", env)):
            if not isinstance(mapping, dict) or not all(
                isinstance(v, str) for v in mapping.values()
            ):
                raise ApiError(400, f"{what} must be an object of strings")
        jail = Jail(
            self.base_dir / sandbox_id,
            network=not body.get("networkBlockAll", False),
            hostname=f"sandbox-{sandbox_id[:8]}",
            work_dir=workdir,
            missing=self.missing_programs,
        )
        now = time.time()
        record = SandboxRecord(
            id=sandbox_id,
            name=name,
            jail=jail,
            created_at=now,
            ready_at=now + max(self.create_delay, 0.0),
            labels=dict(labels),
            env={**image_env, **env},
            image=image,
            snapshot=snapshot,
            settings=settings,
        )
        with self.lock:
            if any(r.name == name for r in self._sandboxes.values()):
                raise ApiError(409, f"Sandbox with name {name} already exists")
            self._sandboxes[sandbox_id] = record
        jail.create()
        workdir_on_host = jail.resolve(workdir)
        if not workdir_on_host.readonly:
            workdir_on_host.host.mkdir(parents=True, exist_ok=True)
        return record

    def stop(self, record: SandboxRecord, status: str, reason: str | None = None) -> None:
        """Kill everything running in the sandbox and set its status (stopped/error)."""
        record.status, record.error_reason, record.updated_at = status, reason, time.time()
        record.sessions.clear()
        record.jail.kill_all()

    def discard(self, record: SandboxRecord) -> None:
        """Forget the sandbox and kill its processes; its directory is left to `rmtree`."""
        with self.lock:
            self._sandboxes.pop(record.id, None)
        self.stop(record, "stopped")

    def remove_all(self) -> None:
        for record in self.all():
            self.discard(record)
            shutil.rmtree(record.jail.root, ignore_errors=True)


def _matches(record: SandboxRecord, query: Any) -> bool:
    labels = json.loads(query["labels"]) if query.get("labels") else {}
    if any(record.labels.get(k) != v for k, v in labels.items()):
        return False
    states = query.getall("states", [])
    if states and record.state not in states:
        return False
    if query.get("id") and record.id != query["id"]:
        return False
    return not (query.get("name") and query["name"] not in record.name)


def control_routes(registry: Registry) -> list[web.AbstractRouteDef]:
    routes = web.RouteTableDef()

    def reply(record: SandboxRecord, state: str | None = None) -> web.Response:
        return web.json_response(record.to_json(registry.toolbox_url, state))

    @routes.post("/api/sandbox")
    async def create(request: web.Request) -> web.Response:
        body = await json_body(request)
        with registry.lock:
            registry.create_requests.append(CreateRequest(dict(request.headers), body))
        return reply(registry.create(body))

    @routes.get("/api/sandbox")
    async def list_(request: web.Request) -> web.Response:
        try:
            found = [r for r in registry.all() if _matches(r, request.query)]
            limit = int(request.query.get("limit") or 100)
            start = int(request.query.get("cursor") or 0)
        except ValueError as exc:
            raise ApiError(400, f"invalid list query: {exc}") from exc
        page = found[start : start + limit]
        more = start + limit < len(found)
        return web.json_response(
            {
                "items": [r.to_json(registry.toolbox_url) for r in page],
                "nextCursor": str(start + limit) if more else None,
            }
        )

    @routes.get("/api/sandbox/{sid}")
    async def get(request: web.Request) -> web.Response:
        return reply(registry.get(request.match_info["sid"]))

    @routes.delete("/api/sandbox/{sid}")
    async def delete(request: web.Request) -> web.Response:
        record = registry.get(request.match_info["sid"])
        registry.discard(record)
        await asyncio.to_thread(shutil.rmtree, record.jail.root, ignore_errors=True)
        return reply(record, "destroyed")

    @routes.post("/api/sandbox/{sid}/stop")
    async def stop(request: web.Request) -> web.Response:
        record = registry.get(request.match_info["sid"])
        if record.status == "started":
            registry.stop(record, "stopped")
        return reply(record)

    @routes.post("/api/sandbox/{sid}/start")
    async def start(request: web.Request) -> web.Response:
        record = registry.get(request.match_info["sid"])
        if record.status == "error":
            raise ApiError(400, f"Sandbox {record.id} is in an error state: {record.error_reason}")
        record.status, record.updated_at = "started", time.time()
        return reply(record)

    @routes.put("/api/sandbox/{sid}/labels")
    async def labels(request: web.Request) -> web.Response:
        record = registry.get(request.match_info["sid"])
        new = (await json_body(request)).get("labels")
        if not isinstance(new, dict) or not all(isinstance(v, str) for v in new.values()):
            raise ApiError(400, "labels must be an object of strings")
        record.labels, record.updated_at = dict(new), time.time()
        return web.json_response({"labels": record.labels})

    @routes.post(r"/api/sandbox/{sid}/{kind:autostop|autoarchive|autodelete}/{n:-?\d+}")
    async def interval(request: web.Request) -> web.Response:
        record = registry.get(request.match_info["sid"])
        key = {
            "autostop": "autoStopInterval",
            "autoarchive": "autoArchiveInterval",
            "autodelete": "autoDeleteInterval",
        }[request.match_info["kind"]]
        record.settings[key] = int(request.match_info["n"])
        return reply(record)

    @routes.get("/api/sandbox/{sid}/toolbox-proxy-url")
    async def toolbox_url(request: web.Request) -> web.Response:
        registry.get(request.match_info["sid"])
        return web.json_response({"url": registry.toolbox_url})

    return list(routes)
