"""How a Daytona sandbox comes to be and goes away: `Lifecycle`, held by the workspace.

    preload (the create request leaves at once, see `_early.py`; the SDK imports meanwhile)
    ─► connect ─► create (takes that sandbox over, or asks the SDK; retried; a lost answer
    adopts the sandbox by name) or attach / start again ─► … the workspace uses `call()` for
    every SDK request … ─► delete (unless keep)

`call()` is the seam every SDK request passes through: retries for transient failures,
a sandbox that stopped while idle started again once, and Daytona errors leaving as
`SandboxError` / `SandboxNotFound` (or the OSError a file tool expects), `raise ... from exc`.
Deletion finds a sandbox whose create request was cut short by its unique name.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from rho_agent._preload import soon
from rho_agent.backends._types import Notify
from rho_agent.backends.daytona._client import make_client
from rho_agent.backends.daytona._early import Created, EarlyCreate, Refused, send_early
from rho_agent.backends.daytona._errors import (
    GONE_STATES,
    RETRIES,
    STOPPED_STATES,
    SandboxNotFound,
    as_sandbox_error,
    backoff,
    os_error,
    state_of,
    status_of,
    transient,
)
from rho_agent.backends.daytona._plan import LABEL, Plan, create_intervals, user_label
from rho_agent.errors import ConfigError, RhoError, SandboxError

T = TypeVar("T")

#: Seconds a session that closes waits for the answer to an early create request.
EARLY_ANSWER_WAIT = 15.0


class Lifecycle:
    """One sandbox's client and state: create, attach, start again, delete, and `call()`."""

    def __init__(self, plan: Plan, notify: Notify) -> None:
        self.plan = plan
        self._notify = notify
        #: The SDK's `AsyncDaytona`, made by `connect()`.
        self.client: Any = None
        #: The SDK's `AsyncSandbox` once created or attached.
        self.sandbox: Any = None
        #: A create request went out and its sandbox is not known by id: delete by name.
        self.create_sent = False
        self._client_soon: asyncio.Future[Any] | None = None
        #: The create request sent before the SDK was in, until `create()` takes it over.
        self._early: EarlyCreate | None = None

    # ------------------------------------------------------------------ the seam

    async def call(
        self,
        what: str,
        fn: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        timeout: float | None = None,
        path: str | None = None,
        revive: bool = True,
    ) -> T:
        """One SDK call with retries for transient failures and errors translated at the seam."""
        from daytona.common.errors import DaytonaError, DaytonaProcessExecutionTimeoutError

        budget = timeout or self.plan.request_timeout + 15
        attempt = 0
        while True:
            try:
                return await asyncio.wait_for(fn(), budget)
            except TimeoutError as exc:
                raise SandboxError(
                    f"Daytona did not answer within {budget:g}s while trying to {what}."
                ) from exc
            except DaytonaProcessExecutionTimeoutError:
                raise
            except DaytonaError as exc:
                if path is not None and (as_os_error := os_error(exc, path)) is not None:
                    raise as_os_error from exc
                if attempt < RETRIES and transient(exc, idempotent):
                    attempt += 1
                    await asyncio.sleep(backoff(attempt, exc))
                    continue
                if revive and self.sandbox is not None and await self._revive(exc, what):
                    revive = False
                    continue
                raise as_sandbox_error(exc, what) from exc

    async def _revive(self, exc: Any, what: str) -> bool:
        """After a failed toolbox call: start a sandbox that stopped while idle (→ True, retry),
        or say clearly that it died (raise)."""
        from daytona.common.errors import DaytonaConnectionError, DaytonaNotFoundError

        if not (
            status_of(exc) in (404, 409, 410, 502, 503, 504)
            or isinstance(exc, DaytonaConnectionError)
        ):
            return False
        sandbox = self.sandbox
        try:
            await asyncio.wait_for(sandbox.refresh_data(), self.plan.request_timeout)
        except DaytonaNotFoundError as gone:
            raise SandboxNotFound(
                f"Sandbox {sandbox.id} no longer exists (deleted outside this session?); start a new session."
            ) from gone
        except Exception:
            return False
        state = state_of(sandbox)
        if state in GONE_STATES:
            raise SandboxError(
                f"Sandbox {sandbox.id} died while trying to {what}: it is {state} "
                f"({sandbox.error_reason or 'no reason given'}). Start a new session."
            ) from exc
        if state in STOPPED_STATES:
            await self._notify(f"Sandbox {sandbox.id} was {state} (idle); starting it again…")
            await self.start_again()
            return True
        return False

    # ------------------------------------------------------------------ coming to be

    def preload(self, *, creating: bool = False) -> None:
        """Start making the client now. `creating`: send the create request too, without the
        SDK when it can (`_early.py`); the SDK's import then no longer holds it up and waits
        its turn in the import lane (`rho_agent._preload`) behind what the session asks for
        in this same turn of the loop (the model's SDK, for the first model call), else it
        goes first: the create request needs it."""
        if creating and self.sandbox is None and not self.create_sent:
            self._early = send_early(self.plan)
            self.create_sent = self._early is not None
        if self._client_soon is None and self.client is None:
            if self._early is not None:
                # A task's first step runs on the loop's next turn, after this one's requests.
                self._client_soon = asyncio.ensure_future(self._make_client())
            else:
                self._client_soon = soon(lambda: make_client(self.plan.sdk_config))
            # its failure is raised by connect(); unseen if the session ends first
            self._client_soon.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def _make_client(self) -> Any:
        return await soon(lambda: make_client(self.plan.sdk_config))

    async def connect(self) -> None:
        """The client `preload` makes (the SDK's import takes a second, off the event loop)."""
        if self.client is None:
            if self._client_soon is not None and self._client_soon.cancelled():
                self._client_soon = None  # cancelled with a provisioning that awaited it
            self.preload()
            assert self._client_soon is not None
            # shielded: a cancelled provisioning must not take the client from the teardown
            self.client = await asyncio.shield(self._client_soon)

    async def attach(self, sandbox_id: str) -> Any:
        """Use an existing sandbox (`--sandbox ID`) instead of creating one; returns it."""
        await self.connect()
        try:
            sandbox = await self.call(
                f"find sandbox {sandbox_id}", lambda: self.client.get(sandbox_id), idempotent=True
            )
        except SandboxNotFound as exc:
            sandbox = await self._by_prefix(sandbox_id, exc)
        state = state_of(sandbox)
        if state in GONE_STATES:
            raise SandboxError(
                f"Sandbox {sandbox.id} cannot be used: it is {state} ({sandbox.error_reason or 'no reason given'})."
            )
        self.sandbox = sandbox
        return sandbox

    async def _by_prefix(self, prefix: str, not_found: Exception) -> Any:
        """The one of your rho-agent sandboxes (those `rho-agent sandboxes list` shows) whose
        id starts with `prefix`, like a git short hash; ConfigError if none or several do."""
        from daytona import ListSandboxesQuery

        labels = {LABEL: "1", f"{LABEL}-user": user_label()}

        async def mine() -> list[Any]:
            return [box async for box in self.client.list(ListSandboxesQuery(labels=labels))]

        boxes = await self.call("list your rho-agent sandboxes", mine, idempotent=True)
        matches = sorted((b for b in boxes if b.id.startswith(prefix)), key=lambda b: b.id)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise ConfigError(
                f"--sandbox {prefix}: no such sandbox, and no sandbox of yours starts with it "
                "(see: rho-agent sandboxes list)"
            ) from not_found
        raise ConfigError(
            f"--sandbox {prefix} is ambiguous: {len(matches)} of your sandboxes start with it: "
            f"{', '.join(b.id for b in matches)}. Give more of the id."
        ) from not_found

    async def create(self) -> None:
        plan = self.plan
        kind, source = plan.image
        if kind == "snapshot":
            what = f"snapshot {source}"
        else:
            what = f"image {source}" if isinstance(source, str) else "a custom image"
        await self._notify(f"Creating a Daytona sandbox from {what}…")
        started = time.monotonic()
        if not await self._take_over_early(started):
            await self._create_with_sdk()
        await self._notify(
            f"Sandbox {self.sandbox.id} started in {time.monotonic() - started:.1f}s"
        )

    async def _take_over_early(self, started: float) -> bool:
        """Use the sandbox the early create request made (False: the SDK is to create one)."""
        early = self._early
        if early is None:
            return False
        outcome = await early.outcome()
        self._early = None  # only now: until its answer is in, closing waits for it
        await self.connect()
        if isinstance(outcome, Refused):  # nothing made; the SDK's request says why
            self.create_sent = False
            return False
        if isinstance(outcome, Created):
            self.sandbox = await self.call(
                f"find sandbox {outcome.sandbox_id}",
                lambda: self.client.get(outcome.sandbox_id),
                idempotent=True,
                revive=False,
            )
        else:  # its answer was lost: it may have made the sandbox, found by its name
            found = await self.find_by_name()
            if found is None or state_of(found) in GONE_STATES:
                if found is not None:
                    await self.delete_id(found.id)
                self.create_sent = False
                return False
            self.sandbox = found
        await self._wait_started(started)
        return True

    async def _wait_started(self, started: float) -> None:
        """Wait for a sandbox created without the SDK's `create` to start, as it would."""
        from daytona.common.errors import DaytonaError, DaytonaTimeoutError

        remaining = max(1.0, self.plan.create_timeout - (time.monotonic() - started))
        try:
            await self.sandbox.wait_for_sandbox_start(timeout=remaining)
        except DaytonaTimeoutError as exc:
            await self.delete(self.sandbox)
            raise SandboxError(self._too_slow()) from exc
        except DaytonaError as exc:
            raise SandboxError(self._create_problem(exc)) from exc

    def _too_slow(self) -> str:
        return (
            f"The Daytona sandbox did not start within {self.plan.create_timeout:g}s; it was "
            "deleted. Try again, or raise DaytonaBackend.create_timeout."
        )

    async def _create_with_sdk(self) -> None:
        from daytona import CreateSandboxFromImageParams, CreateSandboxFromSnapshotParams
        from daytona.common.errors import DaytonaError, DaytonaTimeoutError

        await self.connect()
        plan = self.plan
        kind, source = plan.image
        auto_stop, auto_delete = create_intervals(plan)
        common: dict[str, Any] = {
            "name": plan.name,
            "language": "python",
            "env_vars": plan.env,
            "labels": plan.labels,
            "auto_stop_interval": auto_stop,
            "auto_delete_interval": auto_delete,
        }
        params: CreateSandboxFromSnapshotParams | CreateSandboxFromImageParams
        if kind == "snapshot":
            params = CreateSandboxFromSnapshotParams(snapshot=source, **common)
        else:
            params = CreateSandboxFromImageParams(image=source, resources=plan.resources, **common)
        for attempt in range(RETRIES + 1):
            self.create_sent = True
            try:
                self.sandbox = await self.client.create(params, timeout=plan.create_timeout)
                break
            except DaytonaTimeoutError as exc:
                sandbox_id = getattr(exc, "sandbox_id", None)
                if sandbox_id:
                    await self.delete_id(sandbox_id)
                else:
                    await self.delete_by_name(lookups=3)
                self.create_sent = False
                raise SandboxError(self._too_slow()) from exc
            except DaytonaError as exc:
                if not transient(exc, True):
                    # Said at once: a run that ends meanwhile must not report success. What
                    # the request may have made (a sandbox in error state) is deleted by name
                    # after (`discard_after_failure`), as `create_sent` is still set.
                    raise SandboxError(self._create_problem(exc)) from exc
                found = await self.find_by_name()
                if (
                    found is not None
                    and state_of(found) not in GONE_STATES
                    and transient(exc, True)
                ):
                    self.sandbox = found  # the request went through; only its answer was lost
                    await self.start_again()
                    break
                if found is not None:
                    await self.delete_id(found.id)
                self.create_sent = False
                if attempt < RETRIES and transient(exc, True):
                    await asyncio.sleep(backoff(attempt + 1, exc))
                    continue
                raise SandboxError(self._create_problem(exc)) from exc

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
            return f"The Daytona sandbox failed to start: {exc.message}. It is being deleted."
        return f"Could not create the Daytona sandbox: {exc.message}"

    async def start_again(self) -> None:
        sandbox = self.sandbox
        await self.call(
            f"start sandbox {sandbox.id}",
            lambda: sandbox.start(timeout=self.plan.create_timeout),
            idempotent=True,
            timeout=self.plan.create_timeout + 15,
            revive=False,
        )

    # ------------------------------------------------------------------ going away

    async def release(self) -> None:
        """At the session's end: delete the sandbox (or keep it and say how to come back),
        then close the client."""
        try:
            sandbox = self.sandbox
            if sandbox is None:
                if self.create_sent:  # its creation was cut short: nothing in it to keep
                    await self._delete_unseen(lookups=3)
            elif self.plan.keep:
                await self._notify(
                    f"Kept sandbox {sandbox.id}. Reattach: {self.reattach_command(sandbox.id)}"
                    f" · delete: rho-agent sandboxes delete {sandbox.id}"
                )
            else:
                await self.delete(sandbox)
        finally:
            making = self._client_soon
            if self.client is None and making is not None and not making.cancelled():
                # made in the background but never used (closed while provisioning began)
                with contextlib.suppress(Exception):
                    self.client = await making
            if self.client is not None:
                await self.client.close()

    def reattach_command(self, sandbox_id: str) -> str:
        """The command that comes back to this sandbox as this session saw it: the same
        profile, and the working dir when it was chosen (else the sandbox's label gives it)."""
        plan = self.plan
        words = ["rho-agent", "main", "--backend", "daytona"]
        if plan.profile:
            words += ["--profile", plan.profile]
        if plan.fixed_working_dir:
            words += ["--working-dir", plan.working_dir]
        words += ["--sandbox", sandbox_id]
        return shlex.join(words)

    async def discard_after_failure(self) -> None:
        """After provisioning failed: delete what was created (unless keep), telling why
        not when that fails too."""
        if self.plan.keep and self.sandbox is not None:
            await self._notify(f"Kept sandbox {self.sandbox.id} for inspection (--keep).")
            return
        try:
            if self.sandbox is not None:
                await self.delete(self.sandbox)
            elif self.create_sent:
                await self._delete_unseen(lookups=1)
        except RhoError as exc:
            await self._notify(str(exc))

    async def delete(self, sandbox: Any) -> None:
        try:
            await self.call(
                f"delete sandbox {sandbox.id}",
                lambda: sandbox.delete(timeout=30),
                idempotent=True,
                timeout=45,
                revive=False,
            )
        except SandboxNotFound:
            pass  # already gone
        except SandboxError as exc:
            raise SandboxError(
                f"Could not delete sandbox {sandbox.id}: {exc.message} "
                f"Delete it with: rho-agent sandboxes delete {sandbox.id}"
            ) from exc
        self.sandbox = None
        self.create_sent = False

    async def delete_id(self, sandbox_id: str) -> None:
        try:
            found = await self.call(
                f"find sandbox {sandbox_id}",
                lambda: self.client.get(sandbox_id),
                idempotent=True,
                revive=False,
            )
        except SandboxError:
            return
        await self.delete(found)

    async def find_by_name(self) -> Any:
        try:
            return await self.call(
                "look up the new sandbox",
                lambda: self.client.get(self.plan.name),
                idempotent=True,
                revive=False,
                timeout=30,
            )
        except SandboxError:
            return None

    async def _delete_unseen(self, *, lookups: int) -> None:
        """Delete the sandbox a create request may have made that this session never saw:
        an early request's answer is waited for first (it may still be on its way)."""
        early, self._early = self._early, None
        outcome = await early.outcome(timeout=EARLY_ANSWER_WAIT) if early else None
        if isinstance(outcome, Refused):
            self.create_sent = False
            return
        try:
            await self.connect()
        except Exception:
            if early is None:
                raise
            # No SDK to delete with (it failed to load): the early request's own way.
            await asyncio.to_thread(early.undo, outcome)
            self.create_sent = False
            return
        if isinstance(outcome, Created):
            await self.delete_id(outcome.sandbox_id)
            self.create_sent = False
        else:
            await self.delete_by_name(lookups=lookups)

    async def delete_by_name(self, *, lookups: int) -> None:
        """Delete the sandbox a create request that was cut short may have made."""
        for attempt in range(lookups):
            found = await self.find_by_name()
            if found is not None:
                await self.delete(found)
                return
            if attempt + 1 < lookups:
                await asyncio.sleep(0.3)
        self.create_sent = False
