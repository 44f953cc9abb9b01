"""Toolbox file API (`/files*`, `/work-dir`, `/user-home-dir`).

Paths are resolved by `Jail.resolve`, so the file API sees exactly what a command in the
jail sees (see `jail.py`). Filesystem work runs in a worker thread. Errors use the daemon's
codes (`FILE_NOT_FOUND`, `FILE_ACCESS_DENIED`, `INVALID_FILE_PATH`) so the SDK raises its
precise exception classes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fnmatch
import grp
import json
import os
import pwd
import re
import shutil
import stat
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from aiohttp import BodyPartReader, web

from .control import SANDBOX, SandboxRecord
from .jail import HOME, Jail, Resolved
from .wire import ApiError, go_time, iso, json_body, not_found

T = TypeVar("T")
_CHUNK = 64 * 1024
#: Bytes of each uploaded file kept in its `TransferredFile` record (a tar header is 512).
HEAD_BYTES = 512


class TransferredFile(NamedTuple):
    """One file a bulk request carried: where it went to (an upload) or came from (a
    download), how big it was, its first HEAD_BYTES bytes, and `time.time()` when it had
    arrived whole (an upload) or began to be sent (a download)."""

    path: str
    size: int
    head: bytes
    time: float


#: The server's lists of TransferredFile records (LocalDaytona.received_files, .sent_files).
RECEIVED = web.AppKey("received", list)
SENT = web.AppKey("sent", list)
_UPLOAD_FIELD = re.compile(r"files\[(\d+)\]\.(path|file)")


def _jail(request: web.Request) -> Jail:
    sandbox: SandboxRecord = request[SANDBOX]
    return sandbox.jail


def _query(request: web.Request, key: str) -> str:
    value = request.query.get(key)
    if not value:
        raise ApiError(
            400, f"query parameter {key!r} is required", "INVALID_FILE_PATH", daemon=True
        )
    return value


def _os_error(exc: OSError, path: str) -> ApiError:
    if isinstance(exc, FileNotFoundError):
        return not_found(path)
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return ApiError(403, f"{exc.strerror}: {path}", "FILE_ACCESS_DENIED", daemon=True)
    return ApiError(400, f"{exc.strerror or exc}: {path}", daemon=True)


async def _fs(path: str, fn: Callable[[], T]) -> T:
    """Run filesystem work off the loop, turning OSError into the daemon's envelope."""

    def call() -> T:
        try:
            return fn()
        except OSError as exc:
            raise _os_error(exc, path) from exc

    return await asyncio.to_thread(call)


#: Go's `FileMode.String()` type letters, in its order, and the st_mode tests that set them.
_GO_TYPE_LETTERS: tuple[tuple[str, Callable[[int], bool]], ...] = (
    ("d", stat.S_ISDIR),
    ("L", stat.S_ISLNK),
    ("D", lambda m: stat.S_ISBLK(m) or stat.S_ISCHR(m)),
    ("p", stat.S_ISFIFO),
    ("S", stat.S_ISSOCK),
    ("u", lambda m: bool(m & stat.S_ISUID)),
    ("g", lambda m: bool(m & stat.S_ISGID)),
    ("c", stat.S_ISCHR),
    ("t", lambda m: bool(m & stat.S_ISVTX)),
)


def go_mode(mode: int) -> str:
    """`mode` as the daemon (Go) writes it: "-rw-r--r--", "drwxr-xr-x", "prw-r--r--",
    "Dcrw-rw-rw-" (a character device), "urwxr-xr-x" (setuid)."""
    letters = "".join(letter for letter, test in _GO_TYPE_LETTERS if test(mode)) or "-"
    return letters + "".join(c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))


def file_info(jail_path: str, st: os.stat_result) -> dict[str, Any]:
    return {
        "name": jail_path.rstrip("/").rsplit("/", 1)[-1] or "/",
        "path": jail_path,
        "size": st.st_size,
        "mode": go_mode(st.st_mode),
        "modTime": go_time(st.st_mtime),
        "modifiedAt": iso(st.st_mtime),
        "isDir": stat.S_ISDIR(st.st_mode),
        "owner": str(st.st_uid),
        "group": str(st.st_gid),
        "permissions": f"{stat.S_IMODE(st.st_mode):04o}",
    }


def _child(parent: str, name: str) -> str:
    return f"{parent.rstrip('/')}/{name}"


def _walk(resolved: Resolved) -> list[tuple[str, Path]]:
    """Every regular file and directory under `resolved` (itself included), as (jail, host)."""
    if not resolved.host.is_dir():
        return [(resolved.jail, resolved.host)] if resolved.host.exists() else []
    found = [(resolved.jail, resolved.host)]
    for dirpath, dirnames, filenames in os.walk(resolved.host):
        rel = os.path.relpath(dirpath, resolved.host)
        jail_dir = resolved.jail if rel == "." else _child(resolved.jail, rel)
        dirnames.sort()
        for name in [*dirnames, *sorted(filenames)]:
            found.append((_child(jail_dir, name), Path(dirpath, name)))
    return found


def _grep(resolved: Resolved, pattern: str) -> list[dict[str, Any]]:
    matches = []
    for jail_path, host in _walk(resolved):
        if host.is_symlink() or not host.is_file():
            continue
        with contextlib.suppress(OSError):
            data = host.read_bytes()
            if b"\0" in data[:8192]:
                continue
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                if pattern in line:
                    matches.append({"file": jail_path, "line": number, "content": line})
    return matches


def _list(resolved: Resolved, depth: int) -> list[dict[str, Any]]:
    if not resolved.host.is_dir():
        raise ApiError(400, f"not a directory: {resolved.jail}", "INVALID_FILE_PATH", daemon=True)
    entries: list[dict[str, Any]] = []
    level = [(resolved.jail, resolved.host)]
    for _ in range(depth):
        below = []
        for jail_dir, host_dir in level:
            for name in sorted(os.listdir(host_dir)):
                host = host_dir / name
                st = os.lstat(host)
                entries.append(file_info(_child(jail_dir, name), st))
                if stat.S_ISDIR(st.st_mode):
                    below.append((_child(jail_dir, name), host))
        level = below
    return entries


def _chown_ids(owner: str | None, group: str | None) -> tuple[int, int]:
    def lookup(value: str | None, table: Callable[[str], Any]) -> int:
        if not value:
            return -1
        if value.isdigit():
            return int(value)
        try:
            return table(value)[2]
        except KeyError as exc:
            raise ApiError(400, f"unknown user or group: {value}") from exc

    return lookup(owner, pwd.getpwnam), lookup(group, grp.getgrnam)


def _replace(jail: Jail, path: str, pattern: str, new: str) -> dict[str, Any]:
    try:
        host = jail.writable(path).host
        os.close(_open_regular(host, path))  # a FIFO would block the read below
        text = host.read_text("utf-8")
        if pattern in text:
            host.write_text(text.replace(pattern, new), "utf-8")
        return {"file": path, "success": True}
    except (ApiError, OSError, UnicodeDecodeError) as exc:
        return {"file": path, "success": False, "error": getattr(exc, "message", None) or str(exc)}


def _content_disposition(name: str, path: str) -> str:
    """Echo `path` exactly: `filename*` (RFC 5987) is what the SDK decodes; the quoted
    ASCII `filename` is only there because parsers require one."""
    plain = path.encode("ascii", "replace").decode().replace("\\", "\\\\").replace('"', '\\"')
    plain = plain.replace("\r", "?").replace("\n", "?")
    encoded = urllib.parse.quote(path, safe="")
    return f'form-data; name="{name}"; filename="{plain}"; filename*=utf-8\'\'{encoded}'


def _open_regular(host: Path, path: str) -> int:
    """A descriptor for reading the regular file `host`. Anything else is refused with the
    daemon's error envelope, without blocking: opening a FIFO would hang the download, and
    a device may never end."""
    _refuse_special(os.stat(host).st_mode, path)  # before opening: opening a device can act
    # O_NONBLOCK: should a FIFO have replaced the file since the stat, the open cannot hang.
    fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        _refuse_special(os.fstat(fd).st_mode, path)
    except ApiError:
        os.close(fd)
        raise
    return fd


def _refuse_special(mode: int, path: str) -> None:
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        message = f"not a regular file: {path} (mode {go_mode(mode)})"
        raise ApiError(400, message, "INVALID_FILE_PATH", daemon=True)


async def _download(request: web.Request, paths: list[str]) -> web.StreamResponse:
    boundary = f"DAYTONA-FILE-BOUNDARY-{uuid.uuid4().hex}"
    response = web.StreamResponse(
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    await response.prepare(request)
    try:
        await _write_parts(request, response, boundary, paths)
    except ConnectionResetError:
        pass  # the client stopped reading once it had what it wanted: not a server error
    return response


async def _write_parts(
    request: web.Request, response: web.StreamResponse, boundary: str, paths: list[str]
) -> None:
    jail = _jail(request)
    for path in dict.fromkeys(paths):
        handle = None
        try:
            resolved = jail.resolve(path)
            if resolved.host.is_dir():
                raise ApiError(
                    400, f"path is a directory: {path}", "INVALID_FILE_PATH", daemon=True
                )
            fd = await _fs(path, lambda r=resolved, p=path: _open_regular(r.host, p))
            handle = os.fdopen(fd, "rb")
        except ApiError as err:
            head = (
                f"--{boundary}\r\nContent-Disposition: {_content_disposition('error', path)}\r\n"
                "Content-Type: application/json\r\n\r\n"
            )
            await response.write(
                head.encode() + json.dumps(err.payload(request)).encode() + b"\r\n"
            )
            continue
        with handle:
            size = os.fstat(handle.fileno()).st_size
            first = await asyncio.to_thread(os.pread, handle.fileno(), HEAD_BYTES, 0)
            sent = TransferredFile(resolved.jail, size, first, time.time())
            request.app[SENT].append(sent)
            head = (
                f"--{boundary}\r\nContent-Disposition: {_content_disposition('file', path)}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
            )
            await response.write(head.encode())
            while chunk := await asyncio.to_thread(handle.read, _CHUNK):
                await response.write(chunk)
            await response.write(b"\r\n")
    await response.write(f"--{boundary}--\r\n".encode())
    await response.write_eof()


async def _upload(request: web.Request) -> web.Response:
    """Multipart `files[i].path` + `files[i].file` (the SDK sends each path first, and the
    destination again as the file part's filename). Like the daemon (`os.Create`, then
    `io.Copy`), each file is written in place as its bytes come: a request cut short leaves
    a partial file behind."""
    jail = _jail(request)
    paths: dict[int, str] = {}
    written, errors = [], []  # errors: ApiError per refused file
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):
            continue
        field = _UPLOAD_FIELD.fullmatch(part.name or "")
        if field is None:
            await part.release()
            continue
        if field[2] == "path":
            paths[int(field[1])] = await part.text()
            continue
        dest = paths.get(int(field[1])) or part.filename or ""
        try:
            target = jail.writable(dest)
            if target.host.is_dir():
                raise ApiError(400, f"destination is a directory: {dest}", daemon=True)
            await _fs(dest, lambda t=target: t.host.parent.mkdir(parents=True, exist_ok=True))
            out = await _fs(dest, lambda t=target: open(t.host, "wb"))  # noqa: SIM115
        except ApiError as err:
            err.message = f"{dest}: {err.message}"
            errors.append(err)
            await part.release()
            continue
        size, head = 0, b""
        with out:
            while chunk := await part.read_chunk(_CHUNK):
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                out.write(chunk)
                size += len(chunk)
        written.append({"path": target.jail, "bytes": size})
        request.app[RECEIVED].append(TransferredFile(target.jail, size, head, time.time()))
    if errors:  # the SDK shows "<status>: <errors joined>"
        messages = [e.message for e in errors]
        summary = ApiError(errors[0].status, "; ".join(messages), errors[0].code, daemon=True)
        return web.json_response(
            {"errors": messages, **summary.payload(request)}, status=summary.status
        )
    return web.json_response({"files": written})


def file_routes() -> list[web.AbstractRouteDef]:
    routes = web.RouteTableDef()
    prefix = "/toolbox/{sid}"

    @routes.get(prefix + "/files")
    async def list_files(request: web.Request) -> web.Response:
        path = request.query.get("path") or "."
        depth = int(request.query.get("depth") or 1)
        resolved = _jail(request).resolve(path)
        return web.json_response(await _fs(path, lambda: _list(resolved, max(depth, 1))))

    @routes.get(prefix + "/files/info")
    async def info(request: web.Request) -> web.Response:
        path = _query(request, "path")
        resolved = _jail(request).resolve(path)
        return web.json_response(
            await _fs(path, lambda: file_info(resolved.jail, os.stat(resolved.host)))
        )

    @routes.get(prefix + "/files/find")
    async def find(request: web.Request) -> web.Response:
        path, pattern = _query(request, "path"), _query(request, "pattern")
        resolved = _jail(request).resolve(path)
        return web.json_response(await _fs(path, lambda: _grep(resolved, pattern)))

    @routes.get(prefix + "/files/search")
    async def search(request: web.Request) -> web.Response:
        path, pattern = _query(request, "path"), _query(request, "pattern")
        resolved = _jail(request).resolve(path)
        found = await _fs(
            path, lambda: [j for j, h in _walk(resolved) if fnmatch.fnmatchcase(h.name, pattern)]
        )
        return web.json_response({"files": found})

    @routes.post(prefix + "/files/folder")
    async def folder(request: web.Request) -> web.Response:
        path = _query(request, "path")
        target = _jail(request).writable(path)
        mode = int(request.query.get("mode") or "755", 8)
        await _fs(
            path, lambda: (target.host.mkdir(parents=True, exist_ok=True), target.host.chmod(mode))
        )
        return web.Response(status=201)

    @routes.delete(prefix + "/files")
    async def delete(request: web.Request) -> web.Response:
        path = _query(request, "path")
        target = _jail(request).writable(path, follow=False)
        recursive = request.query.get("recursive") == "true"

        def remove() -> None:
            if target.host.is_dir() and not target.host.is_symlink():
                if not recursive:
                    raise ApiError(400, f"is a directory (use recursive): {path}", daemon=True)
                shutil.rmtree(target.host)
            else:
                target.host.unlink()

        await _fs(path, remove)
        return web.Response(status=204)

    @routes.post(prefix + "/files/move")
    async def move(request: web.Request) -> web.Response:
        source, destination = _query(request, "source"), _query(request, "destination")
        src = _jail(request).writable(source, follow=False)
        dst = _jail(request).writable(destination, follow=False)
        await _fs(source, lambda: os.rename(src.host, dst.host))
        return web.Response()

    @routes.post(prefix + "/files/permissions")
    async def permissions(request: web.Request) -> web.Response:
        path = _query(request, "path")
        target = _jail(request).writable(path)
        mode, uid_gid = (
            request.query.get("mode"),
            _chown_ids(request.query.get("owner"), request.query.get("group")),
        )

        def apply() -> None:
            if mode:
                os.chmod(target.host, int(mode, 8))
            if uid_gid != (-1, -1):
                os.chown(target.host, *uid_gid)

        await _fs(path, apply)
        return web.Response()

    @routes.post(prefix + "/files/replace")
    async def replace(request: web.Request) -> web.Response:
        body, jail = await json_body(request), _jail(request)
        files, pattern, new = body.get("files") or [], body.get("pattern"), body.get("newValue")
        if not isinstance(pattern, str) or not isinstance(new, str):
            raise ApiError(400, "pattern and newValue are required")
        results = await asyncio.to_thread(lambda: [_replace(jail, f, pattern, new) for f in files])
        return web.json_response(results)

    @routes.post(prefix + "/files/bulk-upload")
    async def bulk_upload(request: web.Request) -> web.Response:
        return await _upload(request)

    @routes.post(prefix + "/files/bulk-download")
    async def bulk_download(request: web.Request) -> web.StreamResponse:
        paths = (await json_body(request)).get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ApiError(400, "paths must be a list of strings")
        return await _download(request, paths)

    @routes.get(prefix + "/work-dir")
    async def work_dir(request: web.Request) -> web.Response:
        sandbox: SandboxRecord = request[SANDBOX]
        return web.json_response({"dir": sandbox.jail.work_dir})

    @routes.get(prefix + "/user-home-dir")
    async def home_dir(request: web.Request) -> web.Response:
        return web.json_response({"dir": HOME})

    return list(routes)
