"""Uploads and downloads as the sandbox receives them: streamed, uncompressed, few requests.

What LocalDaytona received is the evidence: `received_files` (each delivered file's path,
size and first 512 bytes) and `requests` (their order), never durations."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import _daytona
import pytest
from _daytona import agent_for, tool_output, toolbox_calls

from rho_agent import Session
from rho_agent.backends import OpenRequest, Upload
from rho_agent.errors import SandboxError
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call
from rho_agent.tools.handlers.daytona import DaytonaBackend

daytona = _daytona.daytona  # fixture
daytona_server = _daytona.daytona_server  # fixture

DONE = reply(text("Done."))
MB = 1024 * 1024


async def open_workspace(**settings: object):
    workspace = await DaytonaBackend(**settings).open(  # type: ignore[arg-type]
        OpenRequest(session_id="transfers", working_dir=None)
    )
    await workspace.ready()
    return workspace


async def open_workspace_without_zstd(daytona: LocalDaytona):
    daytona.missing_programs = ("/usr/bin/zstd",)
    try:
        return await open_workspace()
    finally:
        daytona.missing_programs = ()


def project_with_a_big_file(root: Path, big_mb: int = 9) -> tuple[Path, bytes]:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "README.md").write_text("# app\n")
    data = os.urandom(big_mb * MB)
    (root / "data").mkdir()
    (root / "data" / "big.bin").write_bytes(data)
    os.chmod(root / "data" / "big.bin", 0o640)
    os.utime(root / "data" / "big.bin", (1_600_000_000.75, 1_600_000_000.75))
    return root, data


async def test_a_big_incompressible_file_is_sent_as_it_is_beside_a_plain_tar(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project, data = project_with_a_big_file(tmp_path / "app")
    workspace = await open_workspace()
    try:
        files, requests = len(daytona.received_files), len(daytona.requests)
        await workspace.upload([Upload(project, "/work/app")])
        received = daytona.received_files[files:]
        calls = [
            f"{r.method} {r.path.rsplit('/', 2)[-2:][-1]}" for r in daytona.requests[requests:]
        ]
        check = await workspace.exec(
            "sha256sum /work/app/data/big.bin; stat -c '%a %Y' /work/app/data/big.bin; "
            "cat /work/app/src/app.py; ls -d /tmp/.rho-upload-* 2>/dev/null | wc -l"
        )
    finally:
        await workspace.close()
    assert sorted(f.size for f in received)[-1] == len(data), "the file itself, not compressed"
    big = next(f for f in received if f.size == len(data))
    assert big.head == data[:512], "its bytes as they are"
    (tree,) = [f for f in received if f is not big]
    assert tree.head[257:262] == b"ustar", "the rest as a plain tar (gzip starts \\x1f\\x8b)"
    assert calls.count("POST bulk-upload") == 2 and calls.count("POST execute") == 1, calls
    digest, mode_mtime, app, staging = check.output.split("\n", 3)
    assert digest.split()[0] == hashlib.sha256(data).hexdigest()
    assert mode_mtime == "640 1600000000", "its mode, and the mtime in whole seconds"
    assert app == "print('hi')" and staging.strip() == "0", "staging removed"


async def test_unpacking_and_making_the_working_dir_are_one_command(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project = tmp_path / "app"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("print('hi')\n")
    backend = DaytonaBackend(uploads=[f"{project}:/srv/app"], working_dir="/work/elsewhere")
    start = len(daytona.requests)
    with FakeAnthropic(
        [reply(tool_call("bash", {"command": "pwd; ls /srv/app/src"})), DONE]
    ) as fake:
        async with Session(agent_for(fake, backend)) as session:
            assert (await session.run("go")).ok
    assert tool_output(fake, 1) == "/work/elsewhere\napp.py"
    calls = [c for c in toolbox_calls(daytona, start) if c.startswith("POST /toolbox")]
    kinds = [c.rsplit("/", 1)[-1] for c in calls]
    assert kinds == ["bulk-upload", "execute", "execute"], (
        "the upload, one command that unpacks and makes the working dir, the tool's command",
        calls,
    )


async def test_the_create_request_does_not_wait_for_the_walk(
    daytona: LocalDaytona, tmp_path: Path, monkeypatch
) -> None:
    from rho_agent.backends.daytona import _workspace

    project = tmp_path / "app"
    project.mkdir()
    (project / "main.py").write_text("print('hi')\n")
    walk = _workspace.scan
    create_seen_before_walk_ended: list[bool] = []

    def slow_walk(uploads):
        # The walk ends only once the sandbox has been asked for (or after 20 s, and then the
        # order is wrong): the create request must not wait for it.
        for _ in range(2000):
            if any(r.method == "POST" and r.path == "/api/sandbox" for r in daytona.requests):
                break
            time.sleep(0.01)
        create_seen_before_walk_ended.append(
            any(r.method == "POST" and r.path == "/api/sandbox" for r in daytona.requests)
        )
        return walk(uploads)

    monkeypatch.setattr(_workspace, "scan", slow_walk)
    backend = DaytonaBackend(uploads=[f"{project}:/home/daytona/app"])
    with FakeAnthropic([reply(tool_call("bash", {"command": "cat app/main.py"})), DONE]) as fake:
        async with Session(agent_for(fake, backend)) as session:
            assert (await session.run("go")).ok
    assert create_seen_before_walk_ended == [True]
    assert tool_output(fake, 1) == "print('hi')"


async def test_an_interrupted_upload_leaves_nothing_at_the_remote_paths(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project, _ = project_with_a_big_file(tmp_path / "app")
    workspace = await open_workspace()
    try:
        files, start = len(daytona.received_files), len(daytona.requests)
        # Every byte arrives; the command that would put them in place is held up, and the
        # upload is cancelled meanwhile (Ctrl-C).
        daytona.inject("POST /process/execute", delay=5, times=1)
        task = asyncio.ensure_future(workspace.upload([Upload(project, "/work/app")]))
        for _ in range(1000):
            if any(r.path.endswith("/process/execute") for r in daytona.requests[start:]):
                break
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        daytona.clear_faults()
        delivered = daytona.received_files[files:]
        check = await workspace.exec("ls -A /work/app 2>&1; ls -d /work 2>&1")
    finally:
        await workspace.close()
    assert len(delivered) == 2, "the bytes had arrived (in staging)"
    assert all(f.path.startswith("/tmp/.rho-upload-") for f in delivered), delivered
    assert "No such file or directory" in check.output, check.output


_CHILD = r"""
import asyncio, json, os, resource, sys
from pathlib import Path

written = []

def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        path, mode, flags = args
        if (mode and any(c in mode for c in "wax+")) or (
            flags and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        ):
            written.append(os.fsdecode(path))

async def main(project, back):
    from rho_agent.backends import OpenRequest, Upload
    from rho_agent.tools.handlers.daytona import DaytonaBackend

    ws = await DaytonaBackend().open(OpenRequest(session_id="rss", working_dir=None))
    await ws.ready()
    await ws.exec("true")
    sys.addaudithook(audit)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await ws.upload([Upload(Path(project), "/work/big")])
    after_upload = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    uploaded = list(written)
    await ws.download("/work/big", back)
    after_download = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    check = await ws.exec("stat -c %s /work/big/data.bin")
    await ws.close()
    print(json.dumps({
        "upload_kb": after_upload - before, "download_kb": after_download - after_upload,
        "written_during_upload": uploaded, "written_during_download": written[len(uploaded):],
        "remote_size": check.output.strip(),
    }))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_500_mb_moves_both_ways_without_a_local_copy_or_its_size_in_memory(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """Client peak RSS grows by less than 64 MB, and the client writes no file while
    uploading (no temporary archive) and only the download's own files while downloading."""
    project = tmp_path / "big"
    project.mkdir()
    size = 500 * MB
    with open(project / "data.bin", "wb") as f:
        for _ in range(size // MB):
            f.write(os.urandom(MB))
    back = tmp_path / "back"
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(project), str(back)],
        env={**os.environ, **daytona.env(), "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["remote_size"] == str(size)
    assert (back / "data.bin").stat().st_size == size
    assert report["upload_kb"] < 64 * 1024, report
    assert report["download_kb"] < 64 * 1024, report
    assert report["written_during_upload"] == [], "no temporary archive"
    written = [p for p in report["written_during_download"] if p != os.devnull]  # tar's stdout
    outside = [p for p in written if not p.startswith(str(tmp_path))]
    assert outside == [] and not any(
        p.endswith((".tar", ".tar.gz")) for p in report["written_during_download"]
    )


def source_tree(root: Path, files: int, each: int) -> None:
    """`files` files of source-like text (it shrinks to about a third)."""
    line = b"    def value(self, data): return [x for x in range(10) if x]  # %d\n"
    for i in range(files):
        path = root / f"pkg{i % 10}" / f"m{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = b"".join(line % n for n in range(i, i + each // len(line) + 1))
        path.write_bytes(text[:each])


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


async def test_what_shrinks_goes_through_zstd_and_arrives_whole(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project = tmp_path / "app"
    source_tree(project, 200, 30_000)  # 6 MB of text
    log = b"".join(b"%d GET /index.html 200\n" % i for i in range(500_000))[: 9 * MB]
    (project / "access.log").write_bytes(log)
    workspace = await open_workspace()
    try:
        files = len(daytona.received_files)
        await workspace.upload([Upload(project, "/work/app")])
        received = daytona.received_files[files:]
        check = await workspace.exec("find /work/app -type f | wc -l; md5sum /work/app/access.log")
    finally:
        await workspace.close()
    assert [f.head[:4] for f in received] == [ZSTD_MAGIC, ZSTD_MAGIC], received
    assert sum(f.size for f in received) < (6 * MB + len(log)) / 2
    count, digest = check.output.split("\n", 1)
    assert count == "201" and digest.split()[0] == hashlib.md5(log).hexdigest()


async def test_a_sandbox_without_zstd_gets_it_sent_again_as_it_is(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project = tmp_path / "app"
    source_tree(project, 200, 30_000)
    workspace = await open_workspace_without_zstd(daytona)
    try:
        files = len(daytona.received_files)
        await workspace.upload([Upload(project, "/work/one")])
        await workspace.upload([Upload(project, "/work/two")])
        received = daytona.received_files[files:]
        check = await workspace.exec("find /work/one /work/two -type f | wc -l; ls -A /tmp")
    finally:
        await workspace.close()
    heads = [f.head[:4] if f.head[:4] == ZSTD_MAGIC else f.head[257:262] for f in received]
    assert heads == [ZSTD_MAGIC, b"ustar", b"ustar"], "once compressed, then never again"
    assert check.output.split("\n", 1) == ["400", ""], "both arrived, no staging left"


async def test_without_gnu_tar_tarfile_sends_the_same_tree(
    daytona: LocalDaytona, tmp_path: Path, monkeypatch
) -> None:
    """macOS's tar is bsdtar (no --transform): Python's tarfile packs the same archive."""
    from rho_agent.backends import _programs

    project = tmp_path / "app"
    (project / "src" / "deep").mkdir(parents=True)
    (project / "src" / "deep" / "m.py").write_text("x = 1\n")
    (project / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(project / "run.sh", 0o755)
    os.symlink("src/deep/m.py", project / "link.py")
    (project / ".env").write_text("SECRET=1\n")
    (tmp_path / "notes.txt").write_text("notes\n")
    listing = "cd {0} && find . -mindepth 1 -printf '%P %s %T@ %m %y %l\\n' | sort"
    workspace = await open_workspace()
    try:
        outputs = []
        for where, gnu in (("/work/gnu", True), ("/work/tarfile", False)):
            if not gnu:
                monkeypatch.setattr(_programs, "gnu_tar", lambda: None)
            files = len(daytona.received_files)
            uploads = [Upload(project, where), Upload(tmp_path / "notes.txt", f"{where}/n.txt")]
            await workspace.upload(uploads)
            (tree,) = daytona.received_files[files:]
            assert tree.head[257:262] == b"ustar", "a plain tar either way"
            outputs.append((await workspace.exec(listing.format(where))).output)
    finally:
        await workspace.close()
    assert outputs[0] == outputs[1] and "link.py 13" in outputs[0], outputs
    assert ".env" not in outputs[1] and "n.txt 6" in outputs[1]


async def test_the_place_command_of_big_files_goes_out_alongside_them(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """Big files sent as they are have known sizes: the command that moves them into place
    is sent with the upload and waits in the sandbox until they have arrived whole."""
    project = tmp_path / "data"
    project.mkdir()
    data = os.urandom(9 * MB)
    (project / "big.bin").write_bytes(data)
    workspace = await open_workspace()
    try:
        files, start = len(daytona.received_files), len(daytona.requests)
        daytona.inject("POST /files/bulk-upload", delay=1.0, times=1)  # the bytes come late
        await workspace.upload([Upload(project, "/work/data")])
        (big,) = daytona.received_files[files:]
        execute = [r for r in daytona.requests[start:] if r.path.endswith("/process/execute")]
        check = await workspace.exec("sha256sum /work/data/big.bin; ls -A /tmp")
    finally:
        await workspace.close()
    assert len(execute) == 1 and execute[0].time < big.time, (execute, big)
    digest, rest = check.output.split("\n", 1)
    assert digest.split()[0] == hashlib.sha256(data).hexdigest() and rest == ""


# ------------------------------------------------------------------ downloads


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Each file under `root`: (sha256, mode)."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def test_a_download_fetches_big_files_as_they_are_beside_a_compressed_tree(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """Same rules as uploads: a big file that does not shrink is its own request, written
    straight to disk; the rest (text, and a big log that shrinks) comes as one zstd tar."""
    project, data = project_with_a_big_file(tmp_path / "out")
    source_tree(project / "src", 200, 30_000)  # 6 MB of text
    log = b"".join(b"%d GET /index.html 200\n" % i for i in range(500_000))[: 9 * MB]
    (project / "access.log").write_bytes(log)
    workspace = await open_workspace()
    try:
        await workspace.upload([Upload(project, "/work/out")])
        sent = len(daytona.sent_files)
        back = await workspace.download("/work/out", tmp_path / "back")
        served = daytona.sent_files[sent:]
        left = await workspace.exec("ls -A /tmp")
    finally:
        await workspace.close()
    assert back == tmp_path / "back" and tree_digest(back) == tree_digest(project)
    big = back / "data" / "big.bin"
    assert big.stat().st_mtime == 1_600_000_000 and big.stat().st_mode & 0o777 == 0o640
    by_path = {f.path: f for f in served}
    assert len(served) == 2 and by_path["/work/out/data/big.bin"].size == len(data), served
    (archive,) = (f for f in served if f.path.startswith("/tmp/.rho-download-"))
    assert archive.path.endswith(".tar.zst") and archive.head[:4] == ZSTD_MAGIC
    assert archive.size < (6 * MB + len(log)) / 2, "the text and the log were compressed"
    assert left.output == "", "the archive was removed from the sandbox"


async def test_a_file_that_shrinks_downloads_compressed_and_one_that_does_not_as_it_is(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    log = b"".join(b"%d GET /index.html 200\n" % i for i in range(400_000))[: 5 * MB]
    noise = os.urandom(5 * MB)
    workspace = await open_workspace()
    try:
        await workspace.write_bytes("/work/access.log", log)
        await workspace.write_bytes("/work/noise.bin", noise)
        sent = len(daytona.sent_files)
        got_log = await workspace.download("/work/access.log", tmp_path)
        got_noise = await workspace.download("/work/noise.bin", tmp_path / "n.bin")
        served = daytona.sent_files[sent:]
        left = await workspace.exec("ls -A /tmp")
    finally:
        await workspace.close()
    assert got_log.read_bytes() == log and got_noise.read_bytes() == noise
    assert [f.head[:4] == ZSTD_MAGIC for f in served] == [True, False], served
    assert served[0].size < len(log) / 4 and served[1].path == "/work/noise.bin"
    assert left.output == ""


async def test_without_zstd_in_the_sandbox_a_download_comes_as_a_plain_tar(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project = tmp_path / "out"
    source_tree(project, 200, 30_000)
    workspace = await open_workspace_without_zstd(daytona)
    try:
        await workspace.upload([Upload(project, "/work/out")])
        sent = len(daytona.sent_files)
        back = await workspace.download("/work/out", tmp_path / "back")
        (archive,) = daytona.sent_files[sent:]
    finally:
        await workspace.close()
    assert archive.path.endswith(".tar") and archive.head[257:262] == b"ustar"
    assert tree_digest(back) == tree_digest(project)


async def test_big_files_with_names_a_listing_cannot_carry_come_in_the_tree(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """The listing of big files is text: a name with a newline, a backslash or non-ASCII
    bytes keeps its file in the tar, which carries any name exactly."""
    names = ["new\nline.bin", "back\\slash.bin", "caf\u00e9.bin", "plain.bin"]
    workspace = await open_workspace()
    try:
        make = "; ".join(f"head -c {9 * MB} /dev/urandom > {shlex.quote(n)}" for n in names)
        await workspace.exec(f"mkdir -p /work/odd && cd /work/odd && {make}")
        sent = len(daytona.sent_files)
        back = await workspace.download("/work/odd", tmp_path)
        served = [f.path for f in daytona.sent_files[sent:]]
    finally:
        await workspace.close()
    assert sorted(p.name for p in back.iterdir()) == sorted(names)
    assert all((back / n).stat().st_size == 9 * MB for n in names)
    assert "/work/odd/plain.bin" in served and len(served) == 2, served


async def test_an_interrupted_download_leaves_nothing_at_the_local_path(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project, _ = project_with_a_big_file(tmp_path / "out")
    workspace = await open_workspace()
    try:
        await workspace.upload([Upload(project, "/work/out")])
        sent = len(daytona.sent_files)
        # the archive arrives; the big file's request is held up, and the download cancelled
        daytona.inject("POST /files/bulk-download", delay=5, times=2)
        task = asyncio.ensure_future(workspace.download("/work/out", tmp_path / "back"))
        for _ in range(1000):
            if daytona.sent_files[sent:] or task.done():
                break
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        daytona.clear_faults()
        left = await workspace.exec("ls -A /tmp")
    finally:
        await workspace.close()
    assert not (tmp_path / "back").exists()
    left_over = [p for p in tmp_path.rglob("*") if ".rho-download" in str(p)]
    assert left_over == []
    assert left.output == ""


async def test_uploads_and_downloads_say_how_far_they_have_got(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """A bar for a person (a line per tenth), (done, total) bytes for a program (the
    sidebar's progress bar), both ending at 100 %."""
    project, _ = project_with_a_big_file(tmp_path / "out", big_mb=12)
    lines: list[str] = []
    steps: dict[str, list[tuple[int, int]]] = {"up": [], "down": []}

    async def notify(line: str) -> None:
        lines.append(line)

    def progress(key: str):
        async def report(done: int, total: int) -> None:
            steps[key].append((done, total))

        return report

    workspace = await open_workspace()
    try:
        await workspace.upload(
            [Upload(project, "/work/out")], notify=notify, progress=progress("up")
        )
        await workspace.download(
            "/work/out", tmp_path / "back", notify=notify, progress=progress("down")
        )
    finally:
        await workspace.close()
    for verb, key in (("Uploading", "up"), ("Downloading", "down")):
        bars = [line for line in lines if line.startswith(f"{verb} [")]
        assert 2 <= len(bars) <= 11 and bars[-1].startswith(f"{verb} [##########] 100% of")
        done = [d for d, _ in steps[key]]
        total = steps[key][-1][1]
        assert done == sorted(done) and steps[key][-1] == (total, total), steps[key]
        assert total >= 12 * MB and 10 <= len(done) <= 101


def evil_archive(victim: Path) -> bytes:
    """What a hostile sandbox might send for `out`: a link to a local folder, then a file
    through it; a relative link out, then a file through that; a member climbing with `..`."""
    import io
    import tarfile

    buffer = io.BytesIO()
    data = b"gotcha\n"
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, target in [
            ("out", tarfile.DIRTYPE, ""),
            ("out/link", tarfile.SYMTYPE, str(victim)),
            ("out/link/pwned", tarfile.REGTYPE, ""),
            ("out/up", tarfile.SYMTYPE, "../../../../../../../../" + str(victim).lstrip("/")),
            ("out/up/pwned2", tarfile.REGTYPE, ""),
            ("out/../../escape", tarfile.REGTYPE, ""),
        ]:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode = kind, target, 0o755
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buffer.getvalue()


@pytest.mark.parametrize("unpacker", ["GNU tar", "tarfile"])
async def test_a_hostile_sandbox_cannot_write_outside_the_download(
    daytona: LocalDaytona, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unpacker: str
) -> None:
    """The agent controls the sandbox, so the archive may be anything: here a `tar` of its own
    on the PATH hands over a crafted one. Nothing lands outside the download, and it fails,
    whether GNU tar unpacks it or (where there is none) tarfile."""
    from rho_agent.backends import _programs

    if unpacker == "tarfile":
        monkeypatch.setattr(_programs, "gnu_tar", lambda: None)
    victim = tmp_path / "victim"
    victim.mkdir()
    fake_tar = '#!/bin/sh\nif [ "$1" = -c ]; then cp /home/daytona/evil.tar "$3"; exit 0; fi\n'
    fake_tar += 'exec /usr/bin/tar "$@"\n'
    workspace = await open_workspace()
    try:
        await workspace.write_bytes("/home/daytona/evil.tar", evil_archive(victim))
        await workspace.write_bytes("/home/daytona/.local/bin/tar", fake_tar.encode())
        await workspace.exec("chmod +x /home/daytona/.local/bin/tar; mkdir -p /work/out")
        with pytest.raises(SandboxError, match="Unpacking the download failed"):
            await workspace.download("/work/out", tmp_path / "back")
    finally:
        await workspace.close()
    assert list(victim.iterdir()) == []
    assert not (tmp_path / "back").exists() and not (tmp_path / "escape").exists()
    assert [p for p in tmp_path.rglob("*") if "pwned" in p.name or "escape" in p.name] == []


async def test_links_out_and_fifos_in_a_downloaded_folder_are_refused(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    workspace = await open_workspace()
    try:
        await workspace.exec("mkdir -p /work/a /work/b && echo hi > /work/a/ok.txt")
        await workspace.exec("ln -s /etc /work/a/etc; mkfifo /work/b/pipe")
        with pytest.raises(SandboxError, match="etc is a link that leads out"):
            await workspace.download("/work/a", tmp_path / "a")
        with pytest.raises(SandboxError, match="pipe is not a regular file"):
            await workspace.download("/work/b", tmp_path / "b")
    finally:
        await workspace.close()
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def zstd_bomb(unpacked_mb: int) -> bytes:
    """A zstd-compressed tar of one file of `unpacked_mb` MB of zeros (a few KB)."""
    import io
    import tarfile

    buffer = io.BytesIO()
    size = unpacked_mb << 20

    class Zeros(io.RawIOBase):
        left = size

        def readinto(self, b):  # type: ignore[override]
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("out/zeros")
        info.size = size
        tar.addfile(info, Zeros())
    done = subprocess.run(["zstd", "-19", "-q", "-c"], input=buffer.getvalue(), capture_output=True)
    return done.stdout


async def test_a_download_that_unpacks_into_more_than_was_listed_is_refused(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """The sandbox's `zstd` (the agent's own, first on the PATH) hands over a bomb: a few KB
    that unpack into 300 MB, where the listing said 5 MB. It is refused as soon as it passes
    what was listed, and nothing stays on the local disk."""
    fake_zstd = (
        '#!/bin/sh\n[ "$1" = -1 ] || exec /usr/bin/zstd "$@"\n'
        'p=""; for a; do [ "$p" = -o ] && cp /home/daytona/bomb.zst "$a"; p="$a"; done\n'
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    workspace = await open_workspace()
    try:
        await workspace.write_bytes("/home/daytona/bomb.zst", zstd_bomb(300))
        await workspace.write_bytes("/home/daytona/.local/bin/zstd", fake_zstd.encode())
        # 5 MB of text: the tar is worth compressing, so the (fake) zstd packs it
        await workspace.exec(
            "chmod +x /home/daytona/.local/bin/zstd; mkdir -p /work/out; "
            "yes 'some log line' | head -c 5000000 > /work/out/log.txt"
        )
        with pytest.raises(SandboxError, match=r"more than the 4\.8 MB the sandbox listed"):
            await workspace.download("/work/out", landing / "back")
    finally:
        await workspace.close()
    assert list(landing.iterdir()) == []


async def test_a_big_file_bigger_than_listed_is_refused(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """A file fetched on its own brings no more than its listed size (here a `stat` of the
    agent's own under-reports it, as a file still growing would)."""
    fake_stat = (
        "#!/bin/sh\n/usr/bin/stat \"$@\" | awk '{ if ($1 > 8000000) $1 = 8400000; print }'\n"
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    workspace = await open_workspace()
    try:
        await workspace.exec("mkdir -p /work/out && head -c 12000000 /dev/urandom > /work/out/big")
        await workspace.write_bytes("/home/daytona/.local/bin/stat", fake_stat.encode())
        await workspace.exec("chmod +x /home/daytona/.local/bin/stat")
        with pytest.raises(SandboxError, match=r"more than the 8\.0 MB the sandbox listed"):
            await workspace.download("/work/out", landing / "back")
    finally:
        await workspace.close()
    assert list(landing.iterdir()) == []


async def test_a_download_that_cannot_fit_fails_before_it_starts(
    daytona: LocalDaytona, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    landing = tmp_path / "landing"
    landing.mkdir()
    workspace = await open_workspace()
    try:
        await workspace.exec("mkdir -p /work/out && head -c 3000000 /dev/urandom > /work/out/a")
        monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
        with pytest.raises(OSError, match=r"needs 2\.9 MB, and .* has 977 KB free") as caught:
            await workspace.download("/work/out", landing / "back")
    finally:
        await workspace.close()
    assert caught.value.errno == errno.ENOSPC
    assert list(landing.iterdir()) == []
