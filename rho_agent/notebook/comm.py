"""The comm between this kernel and rho's JupyterLab extension (the rho sidebar).

`%load_ext rho_agent` registers the comm target `rho-agent` (the extension opens a comm to it
when it connects to a kernel where rho is loaded) and opens one comm towards the extension
(so a sidebar already showing this kernel sees rho arrive). No Jupyter server extension is
involved. Over every open comm:

- the kernel publishes `Snapshot`s (`sidebar_state`) when something changes, at most
  `1 / PUBLISH_INTERVAL` a second, and each `CLOCK_INTERVAL` while a run goes on (elapsed);
  a thread does it, so a snapshot also goes out while a blocking `%%rho` cell runs;
- the extension sends `Request`s (`sidebar_requests`): cancel a run (or all), run a prompt in
  a session (its answer streamed as `run_update`s, then `run_done`; a call that needs
  approval sent as an `approval`, answered by `approve`), list a folder of a session's
  workspace, download a file or folder into the notebook's folder, upload, end a session
  (deleting its sandbox), keep its sandbox, set the defaults and budget. Requests with an
  `id` are answered with that `id`;
- when a background run ends, its answer goes to the extension for the cell that started
  it (`durable`), and is claimed once the extension says it wrote it there.

The kernel's comm manager owns the link (the target's handler is its method): nothing global
here besides the registry of sessions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from rho_agent.errors import ConfigError
from rho_agent.notebook.approvals import SidebarApprovals
from rho_agent.notebook.durable import DurableAnswers
from rho_agent.notebook.sidebar_requests import (
    Approve,
    Cancel,
    CancelAll,
    Configure,
    Delivered,
    Download,
    EndSession,
    Hello,
    Keep,
    ListFiles,
    Request,
    RunPrompt,
    Upload,
    requests,
)
from rho_agent.notebook.sidebar_state import SidebarState, Snapshot

if TYPE_CHECKING:
    from rho_agent.events import Event
    from rho_agent.frontend import Job
    from rho_agent.notebook.registry import Registry

TARGET = "rho-agent"
#: Seconds between looks at the registry (so at most 4 snapshots a second).
PUBLISH_INTERVAL = 0.25
#: While a run goes on, a snapshot goes out at least this often (its elapsed time).
CLOCK_INTERVAL = 1.0
#: Seconds between two `run_update`s of a prompt run from the sidebar.
STREAM_INTERVAL = 0.2

Answer = Callable[[dict[str, Any]], None]


class SidebarLink:
    """This kernel's end of the comms with the extension (one per open sidebar)."""

    def __init__(self) -> None:
        self.state = SidebarState()
        self.answers = DurableAnswers()
        self.approvals = SidebarApprovals()
        self.comms: list[Any] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: Snapshot | None = None

    # ------------------------------------------------------------------ comms

    def open(self, comm: Any, open_msg: Any = None) -> None:
        """A comm to the extension is open (the target's handler, or made by `announce`)."""
        _route_requests_by_header(comm)
        comm.on_msg(lambda msg: self._on_msg(comm, msg))
        comm.on_close(lambda msg: self._forget(comm))
        with self._lock:
            self.comms.append(comm)
        self._send_to(comm, self._snapshot().model_dump())
        self._start_publishing()

    def announce(self) -> None:
        """Open a comm towards the extension (a front end without it closes it again)."""
        from comm import create_comm

        try:
            comm = create_comm(target_name=TARGET, data=self._snapshot().model_dump())
        except Exception:  # no kernel (a plain IPython shell): nothing to talk to
            return
        self.open(comm)

    def _forget(self, comm: Any) -> None:
        with self._lock:
            if comm in self.comms:
                self.comms.remove(comm)
        self.approvals.deny_all(comm)  # its sidebar is gone: nobody will answer

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            comms, self.comms = self.comms, []
        for comm in comms:
            try:
                comm.close()
            except Exception:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.approvals.deny_all()
        self.state.detach()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            comms = list(self.comms)
        for comm in comms:
            self._send_to(comm, message)

    def _send_to(self, comm: Any, message: dict[str, Any]) -> None:
        try:
            comm.send(message)
        except Exception:  # a closing comm: it is forgotten on close
            pass

    # ------------------------------------------------------------------ snapshots

    def _registry(self) -> Registry:
        from rho_agent.notebook.registry import get_registry

        return get_registry()

    def _snapshot(self) -> Snapshot:
        return self.state.snapshot(self._registry())

    def changed(self) -> None:
        """Publish soon (something the sidebar shows changed)."""
        self._wake.set()

    def _start_publishing(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._publish, name="rho-agent-sidebar", daemon=True
            )
            self._thread.start()

    def _publish(self) -> None:
        last_sent = 0.0
        while not self._stop.is_set():
            self._wake.wait(PUBLISH_INTERVAL)
            self._wake.clear()
            if self._stop.is_set() or not self.comms:
                continue
            for answer in self.answers.due():  # background answers, for their cells
                self.send(answer)
            try:
                snapshot = self._snapshot()
            except Exception:  # a registry being reset: next time
                continue
            running = any(r.status == "running" for s in snapshot.sessions for r in s.recent)
            now = time.monotonic()
            if snapshot.changes_from(self._last) or (running and now - last_sent >= CLOCK_INTERVAL):
                self._last, last_sent = snapshot, now
                self.send(snapshot.model_dump())
            time.sleep(PUBLISH_INTERVAL)

    # ------------------------------------------------------------------ requests

    def _on_msg(self, comm: Any, msg: dict[str, Any]) -> None:
        """A request; what answers it goes to `comm` only (snapshots go to every comm)."""
        data = msg.get("content", {}).get("data", {})

        def answer(message: dict[str, Any]) -> None:
            self._send_to(comm, message)

        try:
            request = requests.validate_python(data)
        except ValidationError as exc:
            answer({"type": "error", "id": data.get("id"), "message": f"bad request: {exc}"})
            return
        try:
            self.handle(request, answer, comm)
        except Exception as exc:  # a RhoError says what to do; anything else, what went wrong
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            answer({"type": "error", "id": getattr(request, "id", None), "message": message})
        self.changed()

    def handle(self, request: Request, answer: Answer, comm: Any = None) -> None:
        """Do what `request` asks; `answer(message)` replies to whoever asked (`comm`)."""
        registry = self._registry()
        match request:
            case Hello():
                answer(self._snapshot().model_dump())
            case Cancel(session=name, run=run_id):
                nbs = registry.sessions.get(name)
                if nbs is None:
                    return
                follower = self.state.follower(nbs)
                current = follower.runs[-1] if follower.runs else None
                if run_id is None or (current is not None and current.id == run_id):
                    nbs.cancel()
            case CancelAll():
                for nbs in list(registry.sessions.values()):
                    nbs.cancel()
            case RunPrompt():
                self._run_prompt(registry, request, answer, comm)
            case ListFiles(id=rid, session=name, directory=directory):
                self._on_runner(registry, rid, name, _list_files(directory), answer)
            case Download(id=rid, session=name, remote=remote, local=local):
                action = _download(remote, local)
                self._on_runner(registry, rid, name, action, answer, progress=True)
            case Upload(id=rid, session=name, local=local, remote=remote):
                from rho_agent.frontend import files

                spec = files.upload_spec(local, remote)  # checked before a workspace starts
                action = _upload(spec, local)
                self._on_runner(registry, rid, name, action, answer, progress=True)
            case EndSession(session=name):
                nbs = registry.sessions.get(name)
                if nbs is not None:
                    nbs.cancel()
                    registry.runner.submit(nbs.end())
            case Keep(id=rid, session=name):
                if name not in registry.sessions:  # not made here: nothing to keep
                    raise ConfigError(f"There is no session '{name}' in this kernel.")
                self._on_runner(registry, rid, name, _keep(name), answer, start=False)
            case Approve(approval=approval, allow=allow):
                self.approvals.decide(approval, allow)
            case Delivered(answer=answer_id):
                self.answers.delivered(answer_id)
            case Configure(defaults=defaults, budget_usd=budget):
                registry.defaults.update({k: v for k, v in defaults.items() if v})
                if budget is not None:
                    registry.budget_usd = budget or None

    def _run_prompt(
        self, registry: Registry, request: RunPrompt, answer: Answer, comm: Any
    ) -> None:
        """Run the prompt in the session, as its `%%rho` cells do, streaming the answer; a
        call that needs approval is asked of the sidebar that sent the prompt."""
        from rho_agent.frontend import RunState, escape_markdown, no_math

        nbs = registry.session(request.session)
        view = RunState(request.prompt)
        last = [0.0]

        def update(kind: str) -> dict[str, Any]:
            return {
                "type": kind,
                "id": request.id,
                "session": nbs.name,
                "status": view.status,
                "text": view.answer or view.text,
                # As the answer's cell output reads: Markdown, no math, no HTML.
                "markdown": no_math(escape_markdown(view.answer or view.text)),
                "log": view.tool_lines(),
                "summary": view.summary(),
                "error": view.error,
            }

        def on_event(event: Event) -> None:
            view.on_event(event)
            now = time.monotonic()
            if now - last[0] >= STREAM_INTERVAL:
                last[0] = now
                answer(update("run_update"))

        def done(job: Job[Any]) -> None:
            error = _error_of(job)
            if job.cancelled():
                view.finish("cancelled")
            elif error is not None:
                view.error = getattr(error, "message", None) or str(error)
                view.finish("failed")
            answer(update("run_done"))
            self.changed()

        approver = self.approvals.approver(answer, request.id, nbs.name, owner=comm)
        job = nbs.submit(
            lambda job: nbs.execute(request.prompt, listener=on_event, approver=approver)
        )
        job.add_done_callback(done)
        answer(update("run_update"))

    def _on_runner(
        self,
        registry: Registry,
        rid: str,
        name: str | None,
        action: Any,
        answer: Answer,
        *,
        start: bool = True,
        progress: bool = False,
    ) -> None:
        """`await action(session)` on the session `name`'s live Session (started if `start`,
        else None when it has none); the answer carries `rid`. With `progress`, how far a
        transfer has got goes out meanwhile: `{"type": "progress", "id", "done", "total"}`."""
        nbs = registry.session(name)

        def on_event(event: Any) -> None:
            if event.type == "transfer":
                answer({"type": "progress", "id": rid, "done": event.done, "total": event.total})

        async def go() -> dict[str, Any]:
            stop_watching = nbs.watch(on_event) if progress else None
            try:
                return await action(await nbs.start() if start else nbs.session)
            finally:
                if stop_watching is not None:
                    stop_watching()

        def done(job: Job[dict[str, Any]]) -> None:
            error = _error_of(job)
            if error is None:
                answer({"id": rid, "session": nbs.name, **job.result()})
            else:
                message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
                answer({"type": "error", "id": rid, "message": message})
            self.changed()

        registry.runner.submit(go()).add_done_callback(done)


def _route_requests_by_header(comm: Any) -> None:
    """Let the front end choose where the kernel reads this comm's requests.

    ipykernel 7 sends a comm's incoming messages to the subshell of the message during which
    the comm last published (so a widget waiting in a subshell for a reply gets it there),
    whatever subshell the message itself names. This comm waits for no reply, and it
    publishes from a cell (the announcement at `%load_ext`) and from the publishing thread,
    whose parent is the last cell too: every request would go to the main shell, where a
    blocking `%%rho` cell keeps it unread until the cell ends, so Cancel could not stop it.
    Routing each request by its own header (JupyterLab: a subshell for this comm target)
    has the kernel read a Cancel while the cell runs.

    ipykernel has no public switch for this; it looks the route up with
    `getattr(comm, "_reply_subshell_for", None)`, so an instance attribute replaces it for
    this comm only, once, before any request arrives (clearing the remembered route after
    each send instead left a window where a request took the old route). Other kernels and
    older ipykernels never look it up. `test_cancel_reaches_a_blocking_cell_over_a_subshell`
    fails without it."""
    comm._reply_subshell_for = lambda data, default: default


def _error_of(job: Job[Any]) -> BaseException | None:
    """What an ended job raised (a cancelled job raised CancelledError), or None."""
    try:
        job.result(timeout=0)
    except BaseException as exc:
        return exc
    return None


def _list_files(directory: str) -> Any:
    async def action(session: Any) -> dict[str, Any]:
        from rho_agent.frontend import files

        root, entries = await files.list_folder(session, directory)
        return {
            "type": "files",
            "directory": directory,
            "root": root,
            "entries": [{"name": n, "folder": folder, "size": size} for n, folder, size in entries],
            "truncated": len(entries) >= files.MAX_LISTED,
        }

    return action


def _keep(name: str) -> Any:
    async def action(session: Any) -> dict[str, Any]:
        from rho_agent.frontend import keep_sandbox

        return {"type": "kept", "sandbox": await keep_sandbox(session, name)}

    return action


def _upload(spec: str, local: str) -> Any:
    async def action(session: Any) -> dict[str, Any]:
        from rho_agent.frontend import files

        path = await files.upload(session, spec)
        return {"type": "uploaded", "local": local, "path": path}

    return action


def _download(remote: str, local: str) -> Any:
    async def action(session: Any) -> dict[str, Any]:
        from rho_agent.frontend import files

        path = await files.download(session, remote, local)
        return {"type": "downloaded", "remote": remote, "path": path}

    return action


# ---------------------------------------------------------------------- load / unload


def install(ipython: Any) -> SidebarLink | None:
    """Register the comm target, follow the registry's runs and announce rho to the
    extension. Without a kernel (a plain IPython shell) there is nothing to do."""
    from rho_agent.notebook.registry import get_registry

    manager = _comm_manager(ipython)
    if manager is None:
        return None
    existing = find_link(ipython)
    if existing is not None:
        return existing
    link = SidebarLink()
    link.state.attach(get_registry())  # follow runs from the first cell on
    manager.register_target(TARGET, link.open)
    for name, hook in _hooks(link):
        ipython.events.register(name, hook)
    running = _running_cell(ipython)
    if running is not None:
        # `%load_ext` runs in a cell whose pre_run_cell went out before these hooks existed:
        # follow it as if they had seen it (a Panel that cell shows belongs to it).
        for name, hook in _hooks(link):
            if name == "pre_run_cell":
                hook(running)
    link.announce()
    return link


def _running_cell(ipython: Any) -> Any:
    """The execution going on (with its `cell_id`, which JupyterLab sends as the request's
    `cellId` metadata), or None outside one (a kernel's startup lines)."""
    from types import SimpleNamespace

    parent = ipython.get_parent() if hasattr(ipython, "get_parent") else None
    if not isinstance(parent, dict):
        return None
    if parent.get("header", {}).get("msg_type") != "execute_request":
        return None
    return SimpleNamespace(cell_id=parent.get("metadata", {}).get("cellId"))


def uninstall(ipython: Any) -> None:
    link = find_link(ipython)
    if link is None:
        return
    manager = _comm_manager(ipython)
    if manager is not None:
        manager.unregister_target(TARGET, link.open)
    for name, hook in _hooks(link):
        try:
            ipython.events.unregister(name, hook)
        except ValueError:
            pass
    link.close()


def _hooks(link: SidebarLink) -> list[tuple[str, Any]]:
    """The IPython events the link follows: which cell runs (a blocking run's cell, the cell a
    background answer belongs to)."""
    return [
        ("pre_run_cell", link.state.clock.pre_run_cell),
        ("post_run_cell", link.state.clock.post_run_cell),
        ("pre_run_cell", link.answers.pre_run_cell),
        ("post_run_cell", link.answers.post_run_cell),
    ]


def find_link(ipython: Any) -> SidebarLink | None:
    """The link installed in this kernel: the comm target's handler belongs to it."""
    manager = _comm_manager(ipython)
    handler = manager.targets.get(TARGET) if manager is not None else None
    link = getattr(handler, "__self__", None)
    return link if isinstance(link, SidebarLink) else None


def current_cell() -> str | None:
    """The id of the cell executing now, if the extension's link follows this kernel's cells."""
    from IPython.core.getipython import get_ipython

    link = find_link(get_ipython())
    return link.answers.cell_id if link is not None else None


def tie_to_cell(delivery: Any, cell_id: str | None) -> None:
    """A Panel's run: its answer goes to the cell that shows the Panel (see `durable`)."""
    from IPython.core.getipython import get_ipython

    link = find_link(get_ipython())
    if link is not None:
        link.answers.tie(delivery, cell_id)


def _comm_manager(ipython: Any) -> Any:
    if getattr(ipython, "kernel", None) is None:
        return None
    from comm import get_comm_manager

    return get_comm_manager()
