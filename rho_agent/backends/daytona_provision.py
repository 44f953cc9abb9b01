"""How a Daytona sandbox comes to be and goes away, for `DaytonaWorkspace` (a mixin).

    create (retried; a lost answer adopts the sandbox by name) ─► send the archive packed
    meanwhile ─► make working_dir ─► install uv if asked ─► setup commands, streamed

Any failure deletes what was created (unless keep) and becomes the workspace's `failure`.
Deletion finds a sandbox whose create request was cut short by its unique name.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rho_agent.backends import transfer
from rho_agent.backends.daytona_errors import GONE_STATES, RETRIES, backoff, state_of, transient
from rho_agent.errors import RhoError, SandboxError, SetupError

if TYPE_CHECKING:
    from rho_agent.backends.daytona_workspace import DaytonaWorkspace

    _Base = DaytonaWorkspace
else:
    _Base = object

#: Setup output lines shown per poll at most (the rest is counted, and kept in the error tail).
MAX_LINES_PER_POLL = 200


class Provisioning(_Base):
    """The provisioning task and deletion; `DaytonaWorkspace` supplies the primitives,
    `_call` (retries, error translation) and `_notify`."""

    async def _provision(self) -> None:
        packing = None
        if self.plan.uploads:  # packed while the sandbox is being created
            packing = asyncio.ensure_future(asyncio.to_thread(transfer.prepare, self.plan.uploads))
        try:
            await self.connect()
            if self.sandbox is None:
                await self._create()
            elif state_of(self.sandbox) != "started":
                await self._notify(
                    f"Starting sandbox {self.sandbox.id} ({state_of(self.sandbox)})…"
                )
                await self._start_again()
            if packing is not None:
                await transfer.send(self, await packing, notify=self._notify)
            await self._make_working_dir()
            if self.plan.needs_uv:
                await self._setup_command(
                    "install uv", _uv_script(self.backend.uv_version), label="uv"
                )
            for i, command in enumerate(self.backend.setup, 1):
                await self._setup_command(
                    command, command, label=f"setup {i}/{len(self.backend.setup)}"
                )
        except BaseException as exc:
            if packing is not None:  # a packed archive that was not sent is removed
                packing.add_done_callback(_discard_packed)
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
            error = (
                exc
                if isinstance(exc, RhoError)
                else SandboxError(f"Setting up the sandbox failed: {exc}")
            )
            self.failure = error
            await self._discard_after_failure()
            if error is exc:
                raise
            raise error from exc

    async def _create(self) -> None:
        from daytona import CreateSandboxFromImageParams, CreateSandboxFromSnapshotParams
        from daytona.common.errors import DaytonaError, DaytonaTimeoutError

        b, plan = self.backend, self.plan
        kind, source = plan.image
        common: dict[str, Any] = {
            "name": plan.name,
            "language": "python",
            "env_vars": plan.env,
            "labels": plan.labels,
            "auto_stop_interval": _minutes(b.auto_stop_interval),
            "auto_delete_interval": -1
            if b.keep or b.auto_delete_interval < 0
            else _minutes(b.auto_delete_interval),
        }
        if kind == "snapshot":
            params: Any = CreateSandboxFromSnapshotParams(snapshot=source, **common)
            what = f"snapshot {source}"
        else:
            params = CreateSandboxFromImageParams(image=source, resources=b.resources, **common)
            what = f"image {source}" if isinstance(source, str) else "a custom image"
        await self._notify(f"Creating a Daytona sandbox from {what}…")
        started = time.monotonic()
        for attempt in range(RETRIES + 1):
            self._create_sent = True
            try:
                self.sandbox = await self.client.create(params, timeout=b.create_timeout)
                break
            except DaytonaTimeoutError as exc:
                if exc.sandbox_id:
                    await self._delete_id(exc.sandbox_id)
                else:
                    await self._delete_by_name(lookups=3)
                self._create_sent = False
                raise SandboxError(
                    f"The Daytona sandbox did not start within {b.create_timeout:g}s; it was deleted. "
                    "Try again, or raise DaytonaBackend.create_timeout."
                ) from exc
            except DaytonaError as exc:
                found = await self._find_by_name()
                if (
                    found is not None
                    and state_of(found) not in GONE_STATES
                    and transient(exc, True)
                ):
                    self.sandbox = found  # the request went through; only its answer was lost
                    await self._start_again()
                    break
                if found is not None:
                    await self._delete_id(found.id)
                self._create_sent = False
                if attempt < RETRIES and transient(exc, True):
                    await asyncio.sleep(backoff(attempt + 1, exc))
                    continue
                raise SandboxError(self._create_problem(exc)) from exc
        await self._notify(
            f"Sandbox {self.sandbox.id} started in {time.monotonic() - started:.1f}s"
        )

    def _create_problem(self, exc: Any) -> str:
        source = self.plan.image[1]
        context = getattr(source, "_context_list", None)
        if context:
            names = ", ".join(sorted({Path(c.source_path).name for c in context}))
            return (
                f"Could not build the sandbox image: its Dockerfile copies local files ({names}), which "
                "the SDK uploads to Daytona's object storage first, and that failed: "
                f"{exc.message}. Remove the COPY/ADD lines (the project is uploaded after the sandbox "
                "starts), or build a snapshot and set `snapshot = ...`."
            )
        if "entered error state" in str(exc.message) or "build" in str(exc.message).lower():
            return f"The Daytona sandbox failed to start: {exc.message}. It was deleted."
        return f"Could not create the Daytona sandbox: {exc.message}"

    async def _start_again(self) -> None:
        sandbox = self.sandbox
        await self._call(
            f"start sandbox {sandbox.id}",
            lambda: sandbox.start(timeout=self.backend.create_timeout),
            idempotent=True,
            timeout=self.backend.create_timeout + 15,
            revive=False,
        )

    async def _make_working_dir(self) -> None:
        q = shlex.quote(self.working_dir)
        result = await self.exec(
            f"[ -d {q} ] || mkdir -p {q} 2>/dev/null || "
            f'{{ sudo -n mkdir -p {q} && sudo -n chown "$(id -u):$(id -g)" {q}; }}',
            cwd="/",
            timeout=60,
            confined=False,
        )
        if result.exit_code != 0:
            raise SandboxError(
                f"Could not create the working directory {self.working_dir}: {result.output.strip()}"
            )

    async def _setup_command(self, title: str, command: str, *, label: str) -> None:
        """Run `command` in working_dir with the sandbox env, streaming its output as notices."""
        from daytona import SessionExecuteRequest

        process = self.sandbox.process
        session_id = self._session_id
        if session_id is None:
            session_id = self._session_id = f"rho-agent-setup-{secrets.token_hex(4)}"
            await self._call(
                "start a setup shell", lambda: process.create_session(session_id), idempotent=False
            )
        wrapped = f"bash -c {shlex.quote(f'cd -- {shlex.quote(self.working_dir)} && {command}')}"
        await self._notify(f"[{label}] $ {title}")
        started = time.monotonic()
        response = await self._call(
            f"run setup command `{title}`",
            lambda: process.execute_session_command(
                session_id, SessionExecuteRequest(command=wrapped, run_async=True)
            ),
            idempotent=False,
        )
        cmd_id = response.cmd_id
        offsets = {"stdout": 0, "stderr": 0}
        partial = {"stdout": "", "stderr": ""}
        delay = 0.1
        deadline = started + self.backend.setup_timeout
        while True:
            status = await self._call(
                "follow a setup command",
                lambda: process.get_session_command(session_id, cmd_id),
                idempotent=True,
            )
            logs = await self._call(
                "read setup output",
                lambda: process.get_session_command_logs(session_id, cmd_id),
                idempotent=True,
            )
            finished = status.exit_code is not None
            lines: list[str] = []
            for stream in ("stdout", "stderr"):
                text = getattr(logs, stream, None) or ""
                chunk, offsets[stream] = text[offsets[stream] :], len(text)
                *complete, partial[stream] = (partial[stream] + chunk).split("\n")
                if finished and partial[stream]:
                    complete.append(partial[stream])
                    partial[stream] = ""
                lines.extend(complete)
            for line in lines[:MAX_LINES_PER_POLL]:
                await self._notify(f"  {line}")
            if len(lines) > MAX_LINES_PER_POLL:
                await self._notify(f"  [... {len(lines) - MAX_LINES_PER_POLL} more lines]")
            if finished:
                break
            if time.monotonic() > deadline:
                raise SetupError(
                    f"Setup command `{title}` did not finish within {self.backend.setup_timeout:g}s "
                    f"(in {self.working_dir}).{_tail(logs)}"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        code = status.exit_code
        if code != 0:
            where = (
                "DaytonaBackend.setup / sandbox.setup in .rho-agent.toml"
                if label.startswith("setup")
                else "uv_version"
            )
            raise SetupError(
                f"Setup command failed: `{title}` exited with code {code} (in {self.working_dir}).{_tail(logs)}\n"
                f"The agent did not start{'' if self.backend.keep else ' and the sandbox was deleted'}. "
                f"Fix the command ({where}) and run again."
            )
        await self._notify(f"[{label}] done in {time.monotonic() - started:.1f}s")

    async def _discard_after_failure(self) -> None:
        if self.backend.keep and self.sandbox is not None:
            await self._notify(f"Kept sandbox {self.sandbox.id} for inspection (--keep).")
            return
        try:
            if self.sandbox is not None:
                await self._delete(self.sandbox)
            elif self._create_sent:
                await self._delete_by_name(lookups=1)
        except RhoError as exc:
            await self._notify(str(exc))

    # ------------------------------------------------------------------ deletion

    async def _delete(self, sandbox: Any) -> None:
        from daytona.common.errors import DaytonaNotFoundError

        try:
            await self._call(
                f"delete sandbox {sandbox.id}",
                lambda: sandbox.delete(timeout=30),
                idempotent=True,
                timeout=45,
                revive=False,
            )
        except SandboxError as exc:
            if not isinstance(exc.__cause__, DaytonaNotFoundError):
                raise SandboxError(
                    f"Could not delete sandbox {sandbox.id}: {exc.message} "
                    f"Delete it with: rho-agent sandboxes delete {sandbox.id}"
                ) from exc
        self.sandbox = None
        self._create_sent = False

    async def _delete_id(self, sandbox_id: str) -> None:
        try:
            found = await self._call(
                f"find sandbox {sandbox_id}",
                lambda: self.client.get(sandbox_id),
                idempotent=True,
                revive=False,
            )
        except SandboxError:
            return
        await self._delete(found)

    async def _find_by_name(self) -> Any:
        try:
            return await self._call(
                "look up the new sandbox",
                lambda: self.client.get(self.plan.name),
                idempotent=True,
                revive=False,
                timeout=30,
            )
        except SandboxError:
            return None

    async def _delete_by_name(self, *, lookups: int) -> None:
        """Delete the sandbox a create request that was cut short may have made."""
        for attempt in range(lookups):
            found = await self._find_by_name()
            if found is not None:
                await self._delete(found)
                return
            if attempt + 1 < lookups:
                await asyncio.sleep(0.3)
        self._create_sent = False


def _discard_packed(task: asyncio.Future[transfer.Packed]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().discard()


def _uv_script(version: str | None) -> str:
    """Install uv into ~/.local/bin unless the wanted one is there: the official installer,
    else pip. Prints the version it ends with."""
    q = shlex.quote
    want = version or ""
    url = f"https://astral.sh/uv/{want + '/' if want else ''}install.sh"
    pin = f"uv=={want}" if want else "uv"
    return (
        f"want={q(want)}; "
        'if command -v uv >/dev/null 2>&1 && { [ -z "$want" ] || uv --version | grep -qF " $want"; }; '
        'then echo "uv already installed: $(uv --version)"; exit 0; fi; '
        f't=$(mktemp); if {{ curl -LsSf {q(url)} -o "$t" || wget -qO "$t" {q(url)}; }} 2>/dev/null '
        '&& UV_NO_MODIFY_PATH=1 sh "$t"; then :; '
        f"else python3 -m pip install --user --break-system-packages -q {q(pin)} || "
        f'python3 -m pip install --user -q {q(pin)}; fi; rm -f "$t"; uv --version'
    )


def _minutes(seconds: int) -> int:
    """Seconds → whole minutes for the API (which counts minutes), rounding up; 0 stays 0."""
    return 0 if seconds == 0 else max(1, math.ceil(seconds / 60))


def _tail(logs: Any, lines: int = 20, chars: int = 3000) -> str:
    text = (getattr(logs, "output", None) or "").rstrip()
    if not text:
        return " It printed nothing."
    tail = "\n".join(text.splitlines()[-lines:])[-chars:]
    return f" Last output:\n{tail}"
