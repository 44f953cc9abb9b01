"""Widgets: `RunWidget` (one run, live; Cancel; approvals) and `Panel` (the whole workflow).

State lives in synced traits, behaviour in plain methods (`run`, `cancel`, `approve`,
`stage_path`, `refresh_files`, `download`, `preview`) that tests call without a browser;
buttons only call those methods. Button callbacks run inside `Output.capture()` so their
errors show in the panel. Traits may be set from the runner thread (ipykernel sends comm
messages from any thread).
"""

from __future__ import annotations

import asyncio
import html
import tempfile
from pathlib import Path
from typing import Any

from rho_agent.backends import backend_names
from rho_agent.errors import ConfigError
from rho_agent.frontend import escape_markdown
from rho_agent.notebook.registry import DEFAULT_SESSION

try:
    import ipywidgets as W
    import traitlets as T
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ConfigError(
        "The widget panel needs ipywidgets: pip install 'rho-agent[notebook]'"
    ) from exc

#: Characters of a changed file shown in the preview.
PREVIEW_CHARS = 2000

_PROFILES = ("readonly", "developer", "unrestricted")


class RunWidget(W.VBox):
    """A live view of one run with Cancel and, when the profile asks, Approve / Deny."""

    status = T.Unicode("idle").tag(sync=True)  # idle | running | <RunStatus> | failed
    pending_approval = T.Unicode("").tag(sync=True)  # the call waiting for a decision
    cost_usd = T.Float(0.0).tag(sync=True)

    def __init__(self, *, cancel_button: bool = True, **kwargs: Any) -> None:
        self.live = W.HTML(layout=W.Layout(max_height="360px", overflow="auto"))
        self.answer = W.Output()
        self.errors = W.Output()
        self.cancel_button = W.Button(
            description="Cancel", icon="stop", disabled=True, button_style="warning"
        )
        self.approve_button = W.Button(description="Approve", button_style="success")
        self.deny_button = W.Button(description="Deny", button_style="danger")
        self.approval_label = W.HTML()
        self.approval_bar = W.HBox(
            [self.approval_label, self.approve_button, self.deny_button],
            layout=W.Layout(display="none"),
        )
        buttons = [self.cancel_button] if cancel_button else []
        super().__init__(
            [self.live, self.approval_bar, *buttons, self.answer, self.errors], **kwargs
        )
        self.add_class("rho-run")
        self.job: Any = None
        self.view: Any = None
        self._decision: tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]] | None = None
        self.cancel_button.on_click(self.errors.capture()(lambda _: self.cancel()))
        self.approve_button.on_click(self.errors.capture()(lambda _: self.approve(True)))
        self.deny_button.on_click(self.errors.capture()(lambda _: self.approve(False)))
        self.observe(self._show_approval, names="pending_approval")
        self.observe(self._show_status, names="status")

    def __repr__(self) -> str:
        # The text/plain of the widget's output: what GitHub, nbviewer or a kernel without
        # the widget's model show. The answer itself is saved as a plain output of a cell.
        return f"<RunWidget: agent run, {self.status}; the answer is saved as a cell output>"

    # ---------------------------------------------------------------- behaviour

    def follow(self, job: Any, view: Any) -> None:
        """Show `job` (a Job running a NotebookSession.run) until it ends."""
        self.job, self.view = job, view
        self.status = "running"
        self.answer.clear_output()

        def done(job: Any) -> None:
            self.show_live(view.live_bundle())
            if job.cancelled():
                _append(
                    self.answer,
                    {"text/markdown": "**Run cancelled.**", "text/plain": "Run cancelled."},
                )
                self.status = "cancelled"
                return
            try:
                result = job.result()
            except Exception as exc:  # shown, not raised: nobody waits for it
                self.status = "failed"
                message = getattr(exc, "message", None) or repr(exc)
                _append(
                    self.answer,
                    {
                        "text/markdown": f"**Run failed:** {escape_markdown(message)}",
                        "text/plain": message,
                    },
                )
                return
            self.cost_usd = result.cost_usd
            self.live.value = ""  # the answer and the collapsible log below say it all
            _append(self.answer, view.answer_bundle())
            _append(self.answer, view.log_bundle())
            self.status = result.status

        job.add_done_callback(done)

    def show_live(self, bundle: dict[str, str]) -> None:
        self.live.value = bundle["text/html"]
        if self.view is not None:
            self.cost_usd = self.view.cost_usd

    def cancel(self) -> None:
        """Stop the run; it ends within a moment (tools are killed, the model call dropped)."""
        if self.job is not None and not self.job.done():
            self.job.cancel()
            self.approve(False)

    async def approver(self, name: str, tool_input: dict[str, Any]) -> bool:
        """The session's approver while this widget shows the run (on the runner loop)."""
        from rho_agent.tools import summarize_call

        loop = asyncio.get_running_loop()
        decision: asyncio.Future[bool] = loop.create_future()
        self._decision = (loop, decision)
        self.pending_approval = summarize_call(name, tool_input, 200)
        try:
            return await decision
        finally:
            self._decision = None
            self.pending_approval = ""

    def approve(self, ok: bool = True) -> None:
        """Answer the pending approval (no-op when none is pending)."""
        if self._decision is None:
            return
        loop, decision = self._decision
        loop.call_soon_threadsafe(lambda: decision.done() or decision.set_result(ok))

    # ---------------------------------------------------------------- observers

    def _show_approval(self, change: dict[str, Any]) -> None:
        call = change["new"]
        self.approval_label.value = (
            f"<b>Approve?</b> <code>{html.escape(call)}</code>" if call else ""
        )
        self.approval_bar.layout.display = "flex" if call else "none"

    def _show_status(self, change: dict[str, Any]) -> None:
        self.cancel_button.disabled = change["new"] != "running"


def _append(output: W.Output, bundle: dict[str, str]) -> None:
    """Add a display (a mime bundle) to an Output widget, from any thread."""
    output.outputs = (
        *output.outputs,
        {"output_type": "display_data", "data": dict(bundle), "metadata": {}},
    )


class Panel(W.VBox):
    """`rho_agent.notebook.Panel()`: prompt, pickers, uploads, Run/Cancel, live log, workspace.

    Runs go to the notebook session `session` (default: the notebook's conversation, shared
    with `%%rho` cells).
    """

    staged = T.List(T.Unicode()).tag(sync=True)  # "local → remote" lines
    files = T.List(T.Unicode()).tag(sync=True)  # workspace files (relative to the working dir)
    changed_files = T.List(T.Unicode()).tag(sync=True)  # changed by the last run
    cost_usd = T.Float(0.0).tag(sync=True)  # this session, in this kernel

    def __init__(self, session: str | None = None, **kwargs: Any) -> None:
        from rho_agent.notebook.comm import current_cell
        from rho_agent.notebook.registry import get_registry

        self.registry = get_registry()
        self.session_name = session
        self.cell_id = current_cell()  # where the JupyterLab extension writes its answers
        self._uploads: list[str] = []  # LOCAL:REMOTE specs, in order
        self._upload_dir = Path(tempfile.mkdtemp(prefix="rho-panel-"))
        self._before: list[tuple[str, int, float]] = []

        self.prompt = W.Textarea(
            placeholder="What should the agent do?", layout=W.Layout(width="100%", height="80px")
        )
        nbs = self.registry.sessions.get(session or DEFAULT_SESSION)
        settings = _effective(nbs) if nbs else self.registry.defaults
        backend, profile = settings.get("backend") or "local", settings.get("profile") or "readonly"
        self.backend = W.Dropdown(
            options=_options(tuple(backend_names()), backend), value=backend, description="Backend"
        )
        self.profile = W.Dropdown(
            options=_options(_PROFILES, profile), value=profile, description="Profile"
        )
        self.file_upload = W.FileUpload(multiple=True, description="Upload")
        self.path_field = W.Text(
            placeholder="/path/to/a/large/file-or-dir[:remote]", description="Path"
        )
        self.stage_button = W.Button(description="Stage path")
        self.staged_list = W.HTML()
        self.run_button = W.Button(description="Run", icon="play", button_style="primary")
        self.cancel_button = W.Button(description="Cancel", icon="stop", button_style="warning")
        self.cost_label = W.HTML()
        self.run_view = RunWidget(cancel_button=False)  # the panel's Cancel is next to Run
        self.file_select = W.Select(options=[], rows=8, description="Files")
        self.refresh_button = W.Button(description="Refresh")
        self.download_path = W.Text(
            placeholder="local path (default: the file's name here)", description="Save to"
        )
        self.download_button = W.Button(description="Download")
        self.changed_select = W.Select(options=[], rows=5, description="Changed")
        self.preview_box = W.HTML()
        self.errors = W.Output()

        browser = W.VBox(
            [
                W.HBox(
                    [
                        self.file_select,
                        W.VBox([self.refresh_button, self.download_path, self.download_button]),
                    ]
                ),
                W.HBox([self.changed_select, self.preview_box]),
            ]
        )
        self.workspace_view = W.Accordion(children=[browser], titles=("Workspace",))
        super().__init__(
            [
                self.prompt,
                W.HBox([self.backend, self.profile]),
                W.HBox([self.file_upload, self.path_field, self.stage_button]),
                self.staged_list,
                W.HBox([self.run_button, self.cancel_button, self.cost_label]),
                self.run_view,
                self.workspace_view,
                self.errors,
            ],
            **kwargs,
        )
        self.add_class("rho-panel")
        capture = self.errors.capture(clear_output=True)
        self.run_button.on_click(capture(lambda _: self.run()))
        self.cancel_button.on_click(capture(lambda _: self.cancel()))
        self.stage_button.on_click(capture(lambda _: self._stage_field()))
        self.refresh_button.on_click(capture(lambda _: self.refresh_files()))
        self.download_button.on_click(capture(lambda _: self._download_selected()))
        self.file_upload.observe(capture(self._on_file_upload), names="value")
        self.changed_select.observe(
            capture(lambda change: self._show_preview(change["new"])), names="value"
        )
        self.observe(
            lambda c: setattr(self.staged_list, "value", _bullets(c["new"], "Staged for upload")),
            names="staged",
        )
        self.observe(lambda c: setattr(self.file_select, "options", list(c["new"])), names="files")
        self.observe(
            lambda c: setattr(self.changed_select, "options", list(c["new"])), names="changed_files"
        )
        self.observe(
            lambda c: setattr(self.cost_label, "value", f"Cost so far: <b>${c['new']:.4f}</b>"),
            names="cost_usd",
        )
        self.run_view.observe(self._on_run_status, names="status")
        self.run_view.observe(lambda c: self._update_cost(), names="cost_usd")
        self.cost_usd = nbs.cost_usd if nbs else 0.0
        self.cost_label.value = f"Cost so far: <b>${self.cost_usd:.4f}</b>"
        self.cancel_button.disabled = True

    # ---------------------------------------------------------------- behaviour

    @property
    def notebook_session(self) -> Any:
        """The session runs go to, with the pickers' backend and profile (a change of either
        ends its live workspace; the conversation continues)."""
        nbs = self.registry.session(self.session_name)
        wanted = {"backend": self.backend.value, "profile": self.profile.value}
        current = _effective(nbs)
        return self.registry.session(
            self.session_name, {k: v for k, v in wanted.items() if current.get(k) != v}
        )

    def run(self, prompt: str | None = None) -> Any:
        """Start a run in the background with the staged uploads; returns its `RunHandle`
        (`.done()`, `.result()`, `await`). Its answer becomes a plain output of the cell that
        waits for it, or else of the next cell that executes after it ended."""
        from rho_agent.frontend import files as transfer
        from rho_agent.notebook.comm import tie_to_cell
        from rho_agent.notebook.deliveries import RunHandle, get_deliveries
        from rho_agent.notebook.render import RunView

        prompt = (prompt if prompt is not None else self.prompt.value).strip()
        if not prompt:
            raise ConfigError("Write a prompt first.")
        nbs = self.notebook_session
        claim = self.registry.guard.claim(prompt)  # None for a click: only cell code is guarded
        if claim is not None and claim.replay is not None:
            from rho_agent.notebook.guard import RERUN_CALL

            claim.settle(RERUN_CALL)  # shows it in the calling cell
            handle = RunHandle.replayed(claim.replay, nbs.name, "panel")
            self.run_view.follow(handle.job, claim.replay.view)
            return handle
        if claim is not None and (why := claim.rerun_notice()):
            print(why)
        uploads, self._uploads, self.staged = self._uploads, [], []
        view = RunView(prompt)

        async def snapshot(session: Any) -> None:  # what the workspace held before the run
            self._before = await transfer.list_files(session)

        async def compare(session: Any) -> None:  # ... and after: ready when the run is
            try:
                after = await transfer.list_files(session)
            except Exception:  # the workspace may be gone: the listing is a nicety
                return
            self.files = [path for path, _size, _mtime in after]
            self.changed_files = transfer.changed(self._before, after)

        job = nbs.start_run(
            prompt,
            view,
            self.run_view.show_live,
            approver=lambda job: self.run_view.approver,
            uploads=uploads,
            prepare=snapshot,
            conclude=compare,
            claim=claim,
        )
        self.run_view.follow(job, view)
        delivery = get_deliveries().track(job, view, nbs.name, "panel")
        tie_to_cell(delivery, self.cell_id)
        return RunHandle(delivery)

    def cancel(self) -> None:
        self.run_view.cancel()

    def approve(self, ok: bool = True) -> None:
        self.run_view.approve(ok)

    def stage_path(self, spec: str) -> None:
        """Stage `LOCAL[:REMOTE]` (a file or directory of any size) for the next run;
        REMOTE defaults to LOCAL's name in the working dir."""
        from rho_agent.frontend import files as transfer

        local, sep, remote = spec.strip().rpartition(":")
        if not sep:
            local, remote = remote, ""
        checked = transfer.upload_spec(local, remote or None)
        self._uploads.append(checked)
        source, _, target = checked.rpartition(":")
        self.staged = [*self.staged, f"{source} → {target}"]

    def stage_bytes(self, name: str, content: bytes) -> None:
        """Stage an uploaded file's content (the FileUpload widget) as `name` in the working dir."""
        local = self._upload_dir / Path(name).name
        local.write_bytes(content)
        self.stage_path(f"{local}:{Path(name).name}")

    def refresh_files(self) -> list[str]:
        """List the workspace's files (the session starts if it has not)."""
        from rho_agent.frontend import files as transfer

        nbs = self.notebook_session

        async def go() -> Any:
            return await transfer.list_files(await nbs.start())

        self.files = [path for path, _size, _mtime in self.registry.runner.run(go())]
        return list(self.files)

    def download(self, remote: str, local: str | None = None) -> str:
        """Copy a workspace file or directory to `local` (default: its name in the current dir).

        Missing folders are made only below the notebook's folder (the kernel's current
        directory): a typo in the "Save to" field must not create directories anywhere."""
        from rho_agent.frontend import files as transfer

        local = _save_target(local, field="Save to") if local else None
        nbs = self.notebook_session

        async def go() -> str:
            return await transfer.download(await nbs.start(), remote, local)

        saved = self.registry.runner.run(go())
        with self.errors:
            print(f"Downloaded {remote} → {saved}")
        return saved

    def preview(self, path: str) -> str:
        """The start of a workspace file, as text (one command, however big the file)."""
        import shlex

        nbs = self.notebook_session

        async def go() -> Any:
            session = await nbs.start()
            target = shlex.quote(session.workspace.resolve(path))
            return await session.workspace.exec(
                f"head -c {PREVIEW_CHARS * 4} -- {target}", confined=False
            )

        result = self.registry.runner.run(go())
        if result.exit_code != 0:
            raise ConfigError(f"Cannot preview {path}: {result.output.strip()[:200]}")
        sample = result.output[:-4]  # the cut at the end may split a character
        if "\x00" in sample or "\ufffd" in sample:
            return "(binary file)"
        text = result.output[:PREVIEW_CHARS]
        return text + ("\n…" if len(result.output) > PREVIEW_CHARS else "")

    # ---------------------------------------------------------------- plumbing

    def _stage_field(self) -> None:
        if self.path_field.value.strip():
            self.stage_path(self.path_field.value)
            self.path_field.value = ""

    def _on_file_upload(self, change: dict[str, Any]) -> None:
        for item in change["new"]:
            self.stage_bytes(item["name"], bytes(item["content"]))

    def _download_selected(self) -> None:
        if not self.file_select.value:
            raise ConfigError("Select a file first (Refresh lists the workspace).")
        self.download(self.file_select.value, self.download_path.value.strip() or None)

    def _show_preview(self, path: str | None) -> None:
        self.preview_box.value = (
            f"<pre style='white-space:pre-wrap;max-height:240px;overflow:auto'>{html.escape(self.preview(path))}</pre>"
            if path
            else ""
        )

    def _on_run_status(self, change: dict[str, Any]) -> None:
        running = change["new"] == "running"
        self.run_button.disabled = running
        self.cancel_button.disabled = not running
        if not running and change["old"] == "running":
            self._after_run()

    def _after_run(self) -> None:
        """The totals, once a run ended (its file lists were made before it ended)."""
        self._update_cost()

    def _update_cost(self) -> None:
        # The session counts every model call as it happens, a run in progress's too.
        nbs = self.registry.sessions.get(self.session_name or DEFAULT_SESSION)
        self.cost_usd = nbs.cost_usd if nbs else 0.0


def _save_target(path: str, *, field: str) -> str:
    """`path` resolved against the current directory. Outside it, its folder must exist."""
    root = Path.cwd().resolve()
    target = (root / Path(path).expanduser()).resolve()
    if not target.is_relative_to(root) and not target.parent.is_dir():
        raise ConfigError(
            f"{field}: {target.parent} does not exist. The panel makes missing folders only "
            f"below this notebook's folder ({root}); create it first, or save below it."
        )
    return str(target)


def _effective(nbs: Any) -> dict[str, Any]:
    """Backend and profile of a notebook session: its live agent's, else its settings."""
    if nbs.session is not None:
        return {
            "backend": nbs.session.agent.backend.name,
            "profile": nbs.session.agent.profile.name,
        }
    return {"backend": nbs.settings.get("backend"), "profile": nbs.settings.get("profile")}


def _options(defaults: tuple[str, ...], value: str | None) -> tuple[str, ...]:
    return defaults if not value or value in defaults else (*defaults, value)


def _bullets(items: list[str], title: str) -> str:
    if not items:
        return ""
    return (
        f"<b>{title}:</b><ul>"
        + "".join(f"<li><code>{html.escape(i)}</code></li>" for i in items)
        + "</ul>"
    )
