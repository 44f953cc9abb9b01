"""`%load_ext rho_agent`: the `%%rho` cell magic and the `%rho` line magic.

Loading imports nothing heavy: anthropic, daytona and ipywidgets come in when a cell needs
them. A line is parsed into a typed object (`rho_agent.notebook.args`) and dispatched here.
Every failure raises, so the cell fails and "Run All" stops; a failure the user can fix is
shown as one `Error: …` line instead of a traceback.

A blocking `%%rho` cell waits for its run on the extension's runner thread; a kernel
interrupt cancels the run and ends the session's workspace (a sandbox is deleted); the next
cell continues the conversation. `--background` returns at once with a live widget (and
`--out VAR` a handle); its answer becomes a plain output of a later cell (`deliveries`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from rho_agent.errors import ConfigError, RhoError

if TYPE_CHECKING:
    from rho_agent.frontend import Job
    from rho_agent.notebook.args import CellArgs, LineArgs
    from rho_agent.notebook.deliveries import RunHandle
    from rho_agent.notebook.guard import Claim
    from rho_agent.notebook.interrupts import InterruptHandling
    from rho_agent.notebook.registry import NotebookSession, Registry, SessionRunGuard
    from rho_agent.notebook.render import RunView


def _ask(question: str) -> str:
    """Ask the person at the notebook (the kernel's stdin); tests replace this."""
    return input(question)


class CellError(RhoError):
    """Why a `%%rho` / `%rho` cell failed, shown as one line rather than a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mError:\x1b[0m {self.message}"]


@magics_class
class RhoMagics(Magics):
    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.interrupts: InterruptHandling | None = None  # what ■ does (load/unload)
        self.run_guard: SessionRunGuard | None = None  # the plain API's guard (load/unload)

    def pre_run_cell(self, info: Any) -> None:
        """The Run-All guard learns which cell executes (Jupyter sends its id)."""
        from rho_agent.notebook.registry import get_registry

        get_registry().guard.enter_cell(getattr(info, "cell_id", None), info.raw_cell or "")

    def post_run_cell(self, result: Any = None) -> None:
        from rho_agent.notebook.registry import current_registry

        if (registry := current_registry()) is not None:
            registry.guard.leave_cell()

    @line_magic("rho")
    def rho_line(self, line: str) -> Any:
        """%rho status | upload | download | sandboxes | reset | config | panel | help"""
        from rho_agent.notebook.args import parse_line

        with _as_cell_errors():
            return self._line(parse_line(line))

    @cell_magic("rho")
    def rho_cell(self, line: str, cell: str) -> None:
        """%%rho [options] — the cell body is the prompt. `%rho help` lists the options."""
        from rho_agent.notebook.args import parse_cell_line

        with _as_cell_errors():
            self._cell(parse_cell_line(line), line, cell)

    # ------------------------------------------------------------------ %%rho

    def _cell(self, args: CellArgs, line: str, cell: str) -> None:
        from rho_agent.frontend import files as transfer
        from rho_agent.notebook.interpolate import interpolate
        from rho_agent.notebook.registry import get_registry
        from rho_agent.notebook.render import RunView
        from rho_agent.notebook.variables import ship

        if not cell.strip():
            raise ConfigError("%%rho: the cell is empty; write the prompt below the %%rho line.")
        registry = get_registry()
        assert self.shell is not None  # magics are only called from a shell
        user_ns = self.shell.user_ns
        claim = registry.guard.claim(
            "%%rho", source=f"{line}\n{cell}", allow_rerun=args.allow_rerun
        )
        if claim is not None and claim.replay is not None:
            _show_replay(claim, args, user_ns)
            return
        if claim is not None and (why := claim.rerun_notice()):
            print(why)
        prompt = interpolate(cell.strip(), user_ns)
        # Everything that can be wrong with the cell is found before a workspace exists.
        run_kwargs = {
            "attachments": [ship(name, user_ns) for name in args.vars],
            "uploads": [transfer.check_upload(spec) for spec in args.upload],
            "downloads": [transfer.check_download(spec) for spec in args.download],
        }
        nbs = registry.session(args.session, args.agent, new=args.new)
        view = RunView(prompt)

        run_kwargs["claim"] = claim  # the run is remembered once it completed
        if args.background:
            run = self._background(nbs, view, prompt, run_kwargs)
            if args.out:  # at once: a RunHandle (`await VAR`, `VAR.result()`, `VAR.done()`)
                user_ns[args.out] = run
            return
        result = self._blocking(nbs, view, prompt, run_kwargs)
        if args.out:
            user_ns[args.out] = result
        if not result.ok:
            raise CellError(f"Run {result.status}: {result.error or 'see the log above'}")

    def _blocking(
        self, nbs: NotebookSession, view: RunView, prompt: str, run_kwargs: dict[str, Any]
    ) -> Any:
        from IPython.display import display

        handle = display(view.live_bundle(), raw=True, display_id=True)
        assert handle is not None  # display_id=True always returns a handle
        job = nbs.start_run(
            prompt,
            view,
            lambda bundle: handle.update(bundle, raw=True),
            approver=_stdin_approver,
            end_on_cancel=True,
            **run_kwargs,
        )
        try:
            result = job.wait()
        except KeyboardInterrupt:
            view.finish("cancelled")
            handle.update(view.live_bundle(), raw=True)
            raise CellError(
                "Interrupted: the run was cancelled and the session's workspace closed (a Daytona "
                "sandbox is deleted unless --keep). The next %%rho cell continues the conversation."
            ) from None
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            view.finish("cancelled")
            handle.update(view.live_bundle(), raw=True)
            raise CellError("The run was cancelled.") from None
        except BaseException:
            view.finish("failed")
            handle.update(view.live_bundle(), raw=True)
            raise
        # The answer, as Markdown saved with the notebook. A failed run's reason is the cell's
        # error line (the cell fails so Run All stops): shown there, not twice.
        handle.update(view.answer_bundle(with_failure=result.ok), raw=True)
        display(view.log_bundle(), raw=True)
        return result

    def _background(
        self,
        nbs: NotebookSession,
        view: RunView,
        prompt: str,
        run_kwargs: dict[str, Any],
    ) -> RunHandle:
        """Start the run with a live widget; its answer also becomes a plain output of a later
        cell (`rho_agent.notebook.deliveries`): widget state is not saved as a cell output."""
        from IPython.display import display

        from rho_agent.notebook.deliveries import RunHandle, get_deliveries
        from rho_agent.notebook.panel import RunWidget

        widget = RunWidget()
        job = nbs.start_run(
            prompt, view, widget.show_live, approver=lambda job: widget.approver, **run_kwargs
        )
        widget.follow(job, view)
        display(widget)
        return RunHandle(get_deliveries().track(job, view, nbs.name, "background"))

    # ------------------------------------------------------------------ %rho

    def _line(self, args: LineArgs) -> Any:
        from rho_agent.frontend import files as transfer
        from rho_agent.notebook import args as a
        from rho_agent.notebook.registry import get_registry, show_settings

        registry = get_registry()
        match args:
            case a.Help(text=text):
                print(text)
            case a.Status():
                print(status_text(registry))
            case a.Upload(local=local, remote=remote, session=name):
                spec = transfer.upload_spec(local, remote)
                path = _on_session(registry, name, lambda session: transfer.upload(session, spec))
                print(f"Uploaded {local} → {path}")
            case a.Download(remote=remote, local=local, session=name):
                path = _on_session(
                    registry, name, lambda session: transfer.download(session, remote, local)
                )
                print(f"Downloaded {remote} → {path}")
            case a.Sandboxes(action=action):
                print(sandboxes(registry, cleanup=action == "cleanup"))
            case a.Reset(session=name, all=everything):
                if everything:
                    registry.reset_all()
                else:
                    registry.reset(name)
                print(
                    "Reset: every session ended."
                    if everything
                    else f"Reset: session '{name or 'default'}' ended; the next cell starts a new conversation."
                )
            case a.Config(agent=agent, allow_rerun=allow_rerun, clear=clear, budget=budget):
                if clear:
                    registry.defaults.clear()
                    registry.guard.allow_rerun = False
                registry.defaults.update(agent)
                if allow_rerun is not None:
                    registry.guard.allow_rerun = allow_rerun
                if budget is not None:
                    registry.budget_usd = budget or None
                shown = show_settings(registry.defaults)
                print(
                    f"Defaults for new sessions: {shown or '(none)'}"
                    + (
                        "; cells that already ran run again (no Run-All guard)"
                        if registry.guard.allow_rerun
                        else ""
                    )
                    + _budget_line(registry, "; ")
                )
            case a.Demo(off=off):
                from rho_agent.notebook import demo

                if off:
                    print("Demo ended." if demo.stop(registry) else "The demo was not on.")
                else:
                    print(demo.start(registry))
            case a.Login():
                print(_login(registry))
            case a.PanelArgs(session=name):
                from rho_agent.notebook.panel import Panel

                return Panel(session=name)
        return None


def _login(registry: Registry) -> str:
    """`%rho login`: the key, typed once and kept in this kernel's memory only."""
    import getpass

    from rho_agent.notebook import demo

    try:
        key = getpass.getpass("Anthropic API key (kept in this kernel's memory only): ").strip()
    except Exception:  # no stdin here (nbclient, papermill, Voilà)
        raise ConfigError(
            "%rho login needs a person at the notebook to type the key; where nobody can, set "
            "ANTHROPIC_API_KEY in the kernel's environment instead."
        ) from None
    if not key:
        return "No key given; nothing changed."
    registry.api_key = key
    ended = demo.stop(registry)
    registry.reset_all()  # open sessions were made without the key
    return (
        "rho-agent: key set for this kernel, in memory only (not in the notebook, the "
        "environment, the traces or any file). Runs now call the Anthropic API and are billed"
        + ("; the demo ended, run the notebook again." if ended else ".")
    )


def _show_replay(claim: Claim, args: CellArgs, user_ns: dict[str, Any]) -> None:
    """A cell that already ran: one line, its answer and tool log as they were, and `--out`
    as it was (for `--background`, a handle of the finished run)."""
    from rho_agent.notebook.guard import RERUN_CELL, show_replay

    assert claim.replay is not None
    show_replay(claim, RERUN_CELL)
    if args.out:
        if args.background:
            from rho_agent.notebook.deliveries import RunHandle

            user_ns[args.out] = RunHandle.replayed(claim.replay, args.session, "background")
        else:
            user_ns[args.out] = claim.replay.result


def _on_session(registry: Registry, name: str | None, action: Any) -> Any:
    """Run `await action(session)` on the (started) session `name`, and wait for it."""
    nbs = registry.session(name)
    if nbs.busy:
        raise ConfigError(
            f"Session '{nbs.name}' is running; wait for the run to end (or cancel it) first."
        )

    progress = _Progress()
    stop_watching = nbs.watch(progress.on_event)

    async def go() -> Any:
        return await action(await nbs.start())

    try:
        return registry.runner.run(go())
    finally:
        stop_watching()


class _Progress:
    """What a transfer says while it works (what is sent and skipped, a progress bar), in one
    output of the cell, updated in place: a long upload is never silent."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.handle: Any = None

    def on_event(self, event: Any) -> None:
        if event.type != "notice":
            return
        line = event.message
        if self.lines and _is_bar(line) and _is_bar(self.lines[-1]):
            self.lines[-1] = line  # a progress bar moves on its own line
        else:
            self.lines.append(line)
        bundle = {"text/plain": "\n".join(self.lines)}
        if self.handle is None:
            from IPython.display import display

            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)


def _is_bar(line: str) -> bool:
    return "[" in line and "%" in line


def _stdin_approver(job: Job[Any]) -> Any:
    """Approvals in a blocking cell: asked on the kernel's stdin by the waiting cell."""

    async def approve(name: str, tool_input: dict[str, Any]) -> bool:
        from rho_agent.tools import summarize_call

        question = (
            f"rho-agent wants to run  {summarize_call(name, tool_input, 200)}  — allow? [y/N] "
        )
        try:
            answer = await job.on_main_thread(lambda: _ask(question))
        except Exception:  # no stdin: not approved
            return False
        return str(answer).strip().lower() in ("y", "yes")

    return approve


def status_text(registry: Registry) -> str:
    if not registry.sessions:
        return "No sessions in this kernel yet." + _budget_line(registry, " ")
    rows = [("session", "state", "backend", "profile", "runs", "cost", "id")]
    for s in registry.sessions.values():
        state = "running" if s.busy else ("open" if s.session else "closed")
        agent = s.session.agent if s.session else None
        rows.append(
            (
                s.name,
                state,
                agent.backend.name if agent else str(s.settings.get("backend") or "(default)"),
                agent.profile.name if agent else str(s.settings.get("profile") or "(default)"),
                str(s.runs),
                f"${s.cost_usd:.4f}",
                s.session_id or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    total = f"Cost so far in this kernel: ${registry.cost_usd:.4f}" + _budget_line(registry, " ")
    return "\n".join([*lines, total, sandboxes(registry)])


def _budget_line(registry: Registry, lead: str) -> str:
    if registry.budget_usd is None:
        return ""
    left = max(registry.budget_usd - registry.cost_usd, 0.0)
    return f"{lead}(budget ${registry.budget_usd:.4f}, ${left:.4f} left)"


def sandboxes(registry: Registry, *, cleanup: bool = False) -> str:
    """The remote workspaces of this kernel's sessions; `cleanup` ends those sessions."""
    from rho_agent.backends import RemoteWorkspace

    remote = [s for s in registry.sessions.values() if isinstance(s.workspace, RemoteWorkspace)]
    if not remote:
        return "Sandboxes: none open."
    lines = [
        f"  {s.name}: {s.workspace.kind} {getattr(getattr(s.workspace, 'sandbox', None), 'id', None) or '(starting)'}"
        for s in remote
    ]
    if not cleanup:
        return "Sandboxes:\n" + "\n".join(lines)
    for s in remote:
        s.cancel()
        registry.runner.run(s.end())
    return f"Deleted {len(remote)} sandbox(es):\n" + "\n".join(lines)


class _as_cell_errors:
    """RhoErrors become CellErrors (one line, the cell fails)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, RhoError) and not isinstance(exc, CellError):
            raise CellError(exc.message) from exc


def _end_sessions_on_exit(change: dict[str, Any]) -> None:
    """The kernel is shutting down (`exit_now`): end every session, deleting sandboxes.

    This runs before interpreter exit, while the SDKs can still start work; `atexit` stays as
    the fallback for other exits.
    """
    if change["new"]:
        from rho_agent.notebook.registry import reset_registry

        reset_registry()


def load_ipython_extension(ipython: Any) -> None:
    from rho_agent.notebook import comm as sidebar
    from rho_agent.notebook import completion, deliveries
    from rho_agent.notebook.interrupts import InterruptHandling

    magics = RhoMagics(ipython)
    ipython.register_magics(magics)
    completion.install(ipython)
    _document(magics)
    ipython.events.register("pre_run_cell", magics.pre_run_cell)
    ipython.events.register("post_run_cell", magics.post_run_cell)
    from rho_agent.notebook.registry import SessionRunGuard
    from rho_agent.session import add_run_hook

    magics.run_guard = SessionRunGuard()
    add_run_hook(magics.run_guard)
    deliveries.install(ipython)  # answers of background and panel runs become cell outputs
    ipython.observe(_end_sessions_on_exit, names="exit_now")
    magics.interrupts = InterruptHandling(ipython)
    magics.interrupts.install()
    sidebar.install(ipython)  # the comm to the JupyterLab extension (rho_agent.notebook.comm)


def _document(magics: RhoMagics) -> None:
    """`%%rho?`, `%rho?` and Shift+Tab show every option (the parsers' own help)."""
    from rho_agent.notebook.args import help_text

    text = help_text()
    type(magics).rho_cell.__doc__ = type(magics).rho_line.__doc__ = text


def unload_ipython_extension(ipython: Any) -> None:
    from rho_agent.notebook import comm as sidebar
    from rho_agent.notebook import completion, deliveries
    from rho_agent.notebook.registry import reset_registry

    sidebar.uninstall(ipython)
    completion.uninstall(ipython)
    deliveries.uninstall(ipython)
    magics = ipython.magics_manager.registry.get("RhoMagics")
    if magics is not None:
        if magics.interrupts is not None:
            magics.interrupts.uninstall()
        for event, callback in (
            ("pre_run_cell", magics.pre_run_cell),
            ("post_run_cell", magics.post_run_cell),
        ):
            try:
                ipython.events.unregister(event, callback)
            except ValueError:
                pass
        if magics.run_guard is not None:
            from rho_agent.session import remove_run_hook

            remove_run_hook(magics.run_guard)
        del ipython.magics_manager.registry["RhoMagics"]
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("rho", None)
    try:
        ipython.unobserve(_end_sessions_on_exit, names="exit_now")
    except ValueError:
        pass
    reset_registry()
