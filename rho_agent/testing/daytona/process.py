"""Toolbox `/process/*`: one-shot commands (`execute`, `code-run`) and sessions.

`execute` pipes the command to bash on stdin, as the daemon does, with stdout and stderr
merged; on timeout the whole jail is killed and the answer is 408 with the daemon's
`PROCESS_EXECUTION_TIMEOUT` envelope (the SDK raises `DaytonaProcessExecutionTimeoutError`).

A session is one long-lived bash in its own jail, fed commands on stdin, so `cd`, variables
and background processes persist between its commands. Each command's stdout, stderr and exit
status go to files under the sandbox's `/tmp/.daytona-sessions/<id>/`; `output` is stdout
followed by stderr (the real daemon interleaves them).
"""

from __future__ import annotations

import asyncio
import shlex
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from .control import SANDBOX, SandboxRecord
from .jail import Jail
from .wire import ApiError, json_body

_SESSIONS = "/tmp/.daytona-sessions"
_LANGUAGES = {"python": ["python3", "-c"], "javascript": ["node", "-e"]}


def _sandbox(request: web.Request) -> SandboxRecord:
    return request[SANDBOX]


def _cwd(sandbox: SandboxRecord, cwd: Any) -> str:
    if cwd is not None and not isinstance(cwd, str):
        raise ApiError(400, "cwd must be a string")
    path = cwd or sandbox.jail.work_dir
    if not sandbox.jail.is_dir(path):
        raise ApiError(400, f"cwd is not a directory: {path}", "INVALID_FILE_PATH", daemon=True)
    return sandbox.jail.absolute(path)


def _timeout(body: dict[str, Any]) -> int | None:
    timeout = body.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)):
        raise ApiError(400, "timeout must be an integer number of seconds")
    return timeout or None


def _envs(body: dict[str, Any]) -> dict[str, str]:
    envs = body.get("envs") or {}
    if not isinstance(envs, dict) or not all(isinstance(v, str) for v in envs.values()):
        raise ApiError(400, "envs must be an object of strings")
    return envs


async def _run(
    sandbox: SandboxRecord, argv: list[str], body: dict[str, Any], stdin: bytes
) -> tuple[int, str]:
    jail = sandbox.jail
    code, output, timed_out = await jail.run(
        argv,
        cwd=_cwd(sandbox, body.get("cwd")),
        env=jail.environ(sandbox.env, _envs(body)),
        stdin=stdin,
        timeout=_timeout(body),
    )
    if sandbox.status != "started":
        raise ApiError(
            502, f"sandbox {sandbox.id} went away while the command ran ({sandbox.status})"
        )
    if timed_out:
        raise ApiError(408, "command execution timeout", "PROCESS_EXECUTION_TIMEOUT", daemon=True)
    return code, output


@dataclass
class _Command:
    id: str
    command: str
    exit_code: int | None = None


@dataclass
class _Session:
    id: str
    proc: asyncio.subprocess.Process
    jail: Jail
    commands: dict[str, _Command] = field(default_factory=dict)

    @property
    def logs(self) -> str:
        """The jail path of this session's command logs."""
        return f"{_SESSIONS}/{self.id}"

    def log(self, cid: str, kind: str) -> Path:
        # Resolved in the jail's view each time: the sandbox owns these files and may have
        # replaced one with a symlink, which must not reach the host.
        return self.jail.resolve(f"{self.logs}/{cid}.{kind}").host

    def poll(self, command: _Command) -> _Command:
        if command.exit_code is None:
            done = self.log(command.id, "exit")
            if done.exists():
                command.exit_code = int(done.read_text().strip() or 0)
            elif self.proc.returncode is not None:  # the shell itself ended (`exit`, killed)
                command.exit_code = self.proc.returncode
        return command

    def output(self, cid: str) -> dict[str, str]:
        def read(kind: str) -> str:
            path = self.log(cid, kind)
            return path.read_bytes().decode("utf-8", "replace") if path.exists() else ""

        out, err = read("out"), read("err")
        return {"output": out + err, "stdout": out, "stderr": err}

    def to_json(self) -> dict[str, Any]:
        return {
            "sessionId": self.id,
            "commands": [_command_json(self.poll(c)) for c in self.commands.values()],
        }


def _command_json(command: _Command) -> dict[str, Any]:
    body: dict[str, Any] = {"id": command.id, "command": command.command}
    if command.exit_code is not None:
        body["exitCode"] = command.exit_code
    return body


def process_routes() -> list[web.AbstractRouteDef]:
    routes = web.RouteTableDef()
    prefix = "/toolbox/{sid}/process"

    @routes.post(prefix + "/execute")
    async def execute(request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body.get("command"), str):
            raise ApiError(400, "command is required")
        code, output = await _run(_sandbox(request), ["bash"], body, body["command"].encode())
        return web.json_response({"exitCode": code, "result": output})

    @routes.post(prefix + "/code-run")
    async def code_run(request: web.Request) -> web.Response:
        body = await json_body(request)
        language = body.get("language") or "python"
        if language not in _LANGUAGES or not isinstance(body.get("code"), str):
            raise ApiError(400, f"code-run needs code and one of {sorted(_LANGUAGES)}")
        argv = [*_LANGUAGES[language], body["code"], *(body.get("argv") or [])]
        code, output = await _run(_sandbox(request), argv, body, b"")
        return web.json_response({"exitCode": code, "result": output, "artifacts": {"charts": []}})

    def session(request: web.Request) -> _Session:
        found = _sandbox(request).sessions.get(request.match_info["session"])
        if found is None:
            raise ApiError(404, f"session not found: {request.match_info['session']}")
        return found

    def command(request: web.Request) -> tuple[_Session, _Command]:
        s = session(request)
        found = s.commands.get(request.match_info["cid"])
        if found is None:
            raise ApiError(
                404,
                f"command not found: {request.match_info['cid']}",
                "PROCESS_NOT_FOUND",
                daemon=True,
            )
        return s, s.poll(found)

    @routes.post(prefix + "/session")
    async def create_session(request: web.Request) -> web.Response:
        sandbox = _sandbox(request)
        sid = (await json_body(request)).get("sessionId")
        if not isinstance(sid, str) or not sid or "/" in sid:
            raise ApiError(400, "sessionId is required")
        if sid in sandbox.sessions:
            raise ApiError(409, f"session already exists: {sid}")
        sandbox.jail.writable(f"{_SESSIONS}/{sid}").host.mkdir(parents=True, exist_ok=True)
        proc = await sandbox.jail.spawn(
            ["bash"],
            cwd=_cwd(sandbox, None),
            env=sandbox.jail.environ(sandbox.env),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        sandbox.sessions[sid] = _Session(sid, proc, sandbox.jail)
        return web.Response(status=201)

    @routes.get(prefix + "/session")
    async def list_sessions(request: web.Request) -> web.Response:
        return web.json_response([s.to_json() for s in _sandbox(request).sessions.values()])

    @routes.get(prefix + "/session/{session}")
    async def get_session(request: web.Request) -> web.Response:
        return web.json_response(session(request).to_json())

    @routes.delete(prefix + "/session/{session}")
    async def delete_session(request: web.Request) -> web.Response:
        s = session(request)
        _sandbox(request).sessions.pop(s.id, None)
        _sandbox(request).jail.kill(s.proc)
        _sandbox(request).jail.forget(s.proc)
        return web.Response(status=204)

    @routes.post(prefix + "/session/{session}/exec")
    async def session_exec(request: web.Request) -> web.Response:
        s, body = session(request), await json_body(request)
        if not isinstance(body.get("command"), str):
            raise ApiError(400, "command is required")
        if s.proc.returncode is not None or s.proc.stdin is None:
            raise ApiError(410, f"session has ended: {s.id}", "SESSION_ENDED", daemon=True)
        cmd = _Command(uuid.uuid4().hex, body["command"])
        s.commands[cmd.id] = cmd
        out, err, status = (shlex.quote(f"{s.logs}/{cmd.id}.{k}") for k in ("out", "err", "exit"))
        s.proc.stdin.write(
            f"{{\n{cmd.command}\n}} </dev/null >{out} 2>{err}\n"
            f"echo $? >{status}.tmp; mv {status}.tmp {status}\n".encode()
        )
        await s.proc.stdin.drain()
        if body.get("runAsync") or body.get("async"):
            return web.json_response({"cmdId": cmd.id}, status=202)
        while s.poll(cmd).exit_code is None:
            await asyncio.sleep(0.01)
        return web.json_response({"cmdId": cmd.id, "exitCode": cmd.exit_code, **s.output(cmd.id)})

    @routes.get(prefix + "/session/{session}/command/{cid}")
    async def get_command(request: web.Request) -> web.Response:
        return web.json_response(_command_json(command(request)[1]))

    @routes.get(prefix + "/session/{session}/command/{cid}/logs")
    async def command_logs(request: web.Request) -> web.Response:
        if request.query.get("follow") == "true":
            raise ApiError(400, "log streaming (websocket) is not supported by LocalDaytona")
        s, cmd = command(request)
        return web.json_response(s.output(cmd.id))

    return list(routes)
