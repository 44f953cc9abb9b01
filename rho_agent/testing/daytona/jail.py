"""One emulated sandbox's filesystem and processes: a host directory that is `/` inside a
bubblewrap jail.

Layout inside the jail::

    /                      the sandbox root directory on the host, read-write
    /usr /etc (/bin /lib   the host's, read-only (on a merged-/usr host, /bin, /lib, ... are
      /lib64 /sbin ...)    symlinks into /usr, recreated as symlinks in the root)
    /proc /dev             fresh for each command
    /home/daytona          HOME, and the working directory unless the image sets WORKDIR
    /tmp                   a plain directory of the root (it persists, like a container's)

Every command gets new user, IPC, PID, UTS and cgroup namespaces, a network namespace too
when the sandbox was created with `networkBlockAll` (only `lo` exists then), and no
capabilities (the server runs as root, so without `--cap-drop ALL` a command could remount
`/usr` read-write). A command's PID namespace dies with it: background processes started by
`process.exec` do not outlive the call (use a session for long-lived processes).

The file API resolves paths as the jail sees them (`Jail.resolve`): relative paths start at
the working directory; symlinks are followed inside the jail's view (an absolute link target
means the jail's `/`, never the host's); the read-only host directories read from the host
and refuse writes, as do /proc and /dev; a path whose `..` climbs above `/` is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
from dataclasses import dataclass
from pathlib import Path

from .wire import ApiError

HOME = "/home/daytona"
DEFAULT_PATH = f"{HOME}/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BWRAP = "/usr/bin/bwrap"
_HOST_TOPS = ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
_VIRTUAL_TOPS = ("proc", "dev")
_MAX_SYMLINKS = 40


def _host_layout() -> tuple[tuple[str, ...], dict[str, str]]:
    """(top-level dirs bound from the host, top-level symlinks to recreate) for this host."""
    binds: list[str] = []
    links: dict[str, str] = {}
    for name in _HOST_TOPS:
        host = f"/{name}"
        if os.path.islink(host):
            links[name] = os.readlink(host)
        elif os.path.isdir(host):
            binds.append(name)
    return tuple(binds), links


_BINDS, _LINKS = _host_layout()
READONLY_TOPS = frozenset(_BINDS) | frozenset(_LINKS) | frozenset(_VIRTUAL_TOPS)


@dataclass(frozen=True)
class Resolved:
    """A path as the jail sees it (`jail`) and where that is on the host (`host`)."""

    jail: str
    host: Path
    readonly: bool


class Jail:
    """A sandbox root directory plus the bwrap command line that makes it `/`."""

    def __init__(
        self,
        root: Path,
        *,
        network: bool,
        hostname: str,
        work_dir: str = HOME,
        missing: tuple[str, ...] = (),
    ):
        self.root = root
        #: Host programs this sandbox's "image" lacks (each is covered by /dev/null).
        self.missing = missing
        self.network = network
        self.hostname = hostname
        self.work_dir = work_dir  # the image's WORKDIR, else HOME: where relative paths start
        self._procs: set[asyncio.subprocess.Process] = set()

    # -- filesystem -------------------------------------------------------------------------

    def create(self) -> None:
        """Create the root's skeleton: mount points, HOME, /tmp and the merged-/usr links."""
        self.root.mkdir()
        for name in (*_BINDS, *_VIRTUAL_TOPS, "home/daytona"):
            (self.root / name).mkdir(parents=True)
        self.repair()

    def repair(self) -> None:
        """Put back a deleted /tmp or /bin-style link before a command runs.

        The root's contents belong to the sandbox, so nothing here follows a link: a
        command may have replaced /tmp with a symlink to a host path.
        """
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.root / "tmp")
            fd = os.open(self.root / "tmp", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                os.fchmod(fd, 0o1777)
            finally:
                os.close(fd)
        for name, target in _LINKS.items():
            with contextlib.suppress(FileExistsError):
                os.symlink(target, self.root / name)

    def resolve(self, path: str, *, follow: bool = True) -> Resolved:
        """Resolve `path` the way the jail's kernel would, confined to the sandbox.

        `follow=False` leaves a symlink in the last component unresolved (delete, move).
        """
        if not path or "\0" in path:
            raise ApiError(400, f"invalid path: {path!r}", "INVALID_FILE_PATH", daemon=True)
        absolute = self.absolute(path)
        parts = [p for p in absolute.split("/") if p not in ("", ".")]
        depth = 0
        for part in parts:
            depth += -1 if part == ".." else 1
            if depth < 0:
                raise ApiError(
                    400, f"path escapes the sandbox root: {path}", "INVALID_FILE_PATH", daemon=True
                )
        pending = parts[::-1]
        done: list[str] = []
        hops = 0
        while pending:
            name = pending.pop()
            if name == "..":
                if done:
                    done.pop()
                continue
            candidate = [*done, name]
            host = self._host(candidate)
            if (pending or follow) and os.path.islink(host):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise ApiError(
                        400,
                        f"too many levels of symbolic links: {path}",
                        "INVALID_FILE_PATH",
                        daemon=True,
                    )
                target = os.readlink(host)
                if target.startswith("/"):
                    done = []
                pending.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
                continue
            done = candidate
        return Resolved(
            jail="/" + "/".join(done),
            host=self._host(done),
            readonly=bool(done) and done[0] in READONLY_TOPS,
        )

    def absolute(self, path: str) -> str:
        """`path` made absolute against the working directory, without resolving anything."""
        return path if path.startswith("/") else f"{self.work_dir.rstrip('/')}/{path}"

    def writable(self, path: str, *, follow: bool = True) -> Resolved:
        """`resolve`, refusing paths the jail sees read-only (and `/` itself)."""
        resolved = self.resolve(path, follow=follow)
        if resolved.readonly or resolved.jail == "/":
            raise ApiError(
                403, f"read-only file system: {resolved.jail}", "FILE_ACCESS_DENIED", daemon=True
            )
        return resolved

    def _host(self, parts: list[str]) -> Path:
        if parts and parts[0] in _BINDS:
            return Path("/", *parts)
        return self.root.joinpath(*parts)

    def is_dir(self, path: str) -> bool:
        with contextlib.suppress(ApiError):
            return stat.S_ISDIR(os.stat(self.resolve(path).host).st_mode)
        return False

    # -- processes --------------------------------------------------------------------------

    def environ(self, *layers: dict[str, str] | None) -> dict[str, str]:
        """The environment of a jailed command: defaults, then each layer in order."""
        env = {
            "PATH": DEFAULT_PATH,
            "HOME": HOME,
            "USER": "root",
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "HOSTNAME": self.hostname,
        }
        for layer in layers:
            env.update(layer or {})
        return env

    def argv(self, cwd: str, command: list[str]) -> list[str]:
        args = [BWRAP, "--bind", str(self.root), "/"]
        for name in _BINDS:
            args += ["--ro-bind", f"/{name}", f"/{name}"]
        args += ["--proc", "/proc", "--dev", "/dev", "--unshare-all"]
        if self.network:
            args.append("--share-net")
        args += ["--hostname", self.hostname, "--die-with-parent", "--new-session"]
        for path in self.missing:
            args += ["--ro-bind", "/dev/null", path]
        # SETFCAP alone (Docker grants it to a container's root too) lets a command map its uid
        # into a nested user namespace: bubblewrap inside the sandbox (rho_agent.sandbox.remote).
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETFCAP", "--chdir", cwd, "--", *command]
        return args

    async def spawn(
        self,
        command: list[str],
        *,
        cwd: str,
        env: dict[str, str],
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
    ) -> asyncio.subprocess.Process:
        """Start `command` in the jail, in its own host process group (see `kill`)."""
        self.repair()
        proc = await asyncio.create_subprocess_exec(
            *self.argv(cwd, command),
            env=env,
            start_new_session=True,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
        )
        self._procs.add(proc)
        return proc

    async def run(
        self,
        command: list[str],
        *,
        cwd: str,
        env: dict[str, str],
        stdin: bytes,
        timeout: float | None,
    ) -> tuple[int, str, bool]:
        """Run to completion: (exit code, stdout+stderr merged, timed out)."""
        proc = await self.spawn(
            command,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout or None)
            return proc.returncode or 0, out.decode("utf-8", "replace"), False
        except TimeoutError:
            self.kill(proc)
            await proc.wait()
            return -1, "", True
        except BaseException:
            self.kill(proc)
            raise
        finally:
            self._procs.discard(proc)

    def kill(self, proc: asyncio.subprocess.Process) -> None:
        """Kill everything the command started: SIGKILL the PID namespace's init (bwrap's
        child), which takes the whole namespace with it; bwrap then reaps it and exits.
        Before that child exists, SIGKILL bwrap's process group instead."""
        if proc.returncode is not None:  # reaped: its pid may belong to someone else now
            return
        try:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except OSError:
            children = []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            for child in children:
                os.kill(int(child), signal.SIGKILL)
            if not children:
                os.killpg(proc.pid, signal.SIGKILL)

    def kill_all(self) -> None:
        for proc in list(self._procs):
            self.kill(proc)

    def forget(self, proc: asyncio.subprocess.Process) -> None:
        self._procs.discard(proc)
