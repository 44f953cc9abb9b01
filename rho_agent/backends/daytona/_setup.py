"""Setup commands (`DaytonaBackend.setup`, `uv_version`): run in the working dir of a new
sandbox through one process session, their output streamed as notices while they run.

A failure names the step (`setup 2/3`, `uv`), the command, its exit code and output tail,
and what it did to the run: no tool ran; model calls made meanwhile are billed."""

from __future__ import annotations

import asyncio
import secrets
import shlex
import time
from typing import Any

from rho_agent.backends._types import Notify
from rho_agent.backends.daytona._lifecycle import Lifecycle
from rho_agent.errors import SetupError

#: Setup output lines shown per poll at most (the rest is counted, and kept in the error tail).
MAX_LINES_PER_POLL = 200


class SetupShell:
    """One process session in the sandbox that setup commands run in, one after another."""

    def __init__(self, life: Lifecycle, working_dir: str, notify: Notify) -> None:
        self.life = life
        self.working_dir = working_dir
        self._notify = notify
        self._session_id: str | None = None

    async def run(self, title: str, command: str, *, label: str) -> None:
        """Run `command` in working_dir with the sandbox env, streaming its output as notices."""
        from daytona import SessionExecuteRequest

        life, plan = self.life, self.life.plan
        process = life.sandbox.process
        session_id = self._session_id
        if session_id is None:
            session_id = self._session_id = f"rho-agent-setup-{secrets.token_hex(4)}"
            await life.call(
                "start a setup shell", lambda: process.create_session(session_id), idempotent=False
            )
        wrapped = f"bash -c {shlex.quote(f'cd -- {shlex.quote(self.working_dir)} && {command}')}"
        await self._notify(f"[{label}] $ {title}")
        started = time.monotonic()
        response = await life.call(
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
        deadline = started + plan.setup_timeout
        while True:
            status = await life.call(
                "follow a setup command",
                lambda: process.get_session_command(session_id, cmd_id),
                idempotent=True,
            )
            logs = await life.call(
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
                    f"Sandbox setup failed at step {label}: `{title}` did not finish within "
                    f"{plan.setup_timeout:g}s (in {self.working_dir}).{_tail(logs)}\n"
                    f"{_what_happened(plan.keep)}"
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
                f"Sandbox setup failed at step {label}: `{title}` exited with code {code} "
                f"(in {self.working_dir}).{_tail(logs)}\n"
                f"{_what_happened(plan.keep)} Fix the command ({where}) and run again."
            )
        await self._notify(f"[{label}] done in {time.monotonic() - started:.1f}s")


def uv_script(version: str | None) -> str:
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


def _what_happened(keep: bool) -> str:
    """What a setup failure did to the run, true whenever it happens: the model's first call
    goes out alongside setup, so it may have been made (and billed) already."""
    sandbox = "the sandbox was kept (--keep)" if keep else "the sandbox was deleted"
    return (
        f"The run stopped before any tool ran in the sandbox, and {sandbox}. Model calls "
        "made meanwhile are billed and counted in the run's usage."
    )


def _tail(logs: Any, lines: int = 20, chars: int = 3000) -> str:
    text = (getattr(logs, "output", None) or "").rstrip()
    if not text:
        return " It printed nothing."
    tail = "\n".join(text.splitlines()[-lines:])[-chars:]
    return f" Last output:\n{tail}"
