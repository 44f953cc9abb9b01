"""LocalDaytona against the real `daytona` SDK (sync and async) over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

daytona = pytest.importorskip("daytona")
from daytona import (  # noqa: E402
    AsyncDaytona,
    CreateSandboxFromImageParams,
    CreateSandboxFromSnapshotParams,
    Daytona,
    DaytonaConfig,
    FileDownloadRequest,
    FileUpload,
    Image,
    ListSandboxesQuery,
    SessionExecuteRequest,
)
from daytona.common.errors import (  # noqa: E402
    DaytonaAuthenticationError,
    DaytonaBadGatewayError,
    DaytonaError,
    DaytonaFileAccessDeniedError,
    DaytonaFileNotFoundError,
    DaytonaInvalidFilePathError,
    DaytonaNotFoundError,
    DaytonaProcessExecutionTimeoutError,
    DaytonaServiceUnavailableError,
    DaytonaTimeoutError,
)

from rho_agent.testing.daytona import LocalDaytona  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/bwrap"), reason="needs bubblewrap")


@pytest.fixture(autouse=True)
def no_dotenv_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads ./.env and ./.env.local: run where there are none."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalDaytona]:
    with LocalDaytona() as srv:
        yield srv
        assert srv.sandboxes() == [], "a test leaked a sandbox"


@pytest.fixture(autouse=True)
def reset(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        srv.clear_faults()
        srv.create_delay = 0.0


def config(server: LocalDaytona, **kw: object) -> DaytonaConfig:
    return DaytonaConfig(api_url=server.api_url, api_key=server.api_key, **kw)


@pytest.fixture(scope="module")
def client(server: LocalDaytona) -> Daytona:
    return Daytona(config(server))


@pytest.fixture
def sandbox(client: Daytona) -> Iterator[object]:
    sb = client.create(
        CreateSandboxFromImageParams(
            image="python:3.12-slim", env_vars={"SANDBOX_VAR": "from-create"}
        )
    )
    yield sb
    sb.delete()


def _root(server: LocalDaytona, sandbox_id: str) -> Path:
    return next(s.root for s in server.sandboxes() if s.id == sandbox_id)


# -- control plane ----------------------------------------------------------------------------


def test_create_from_image_snapshot_and_declarative_image(
    server: LocalDaytona, client: Daytona
) -> None:
    by_string = client.create(
        CreateSandboxFromImageParams(
            image="python:3.12-slim",
            labels={"suite": "local", "kind": "string"},
            auto_stop_interval=0,
            resources=daytona.Resources(cpu=2, memory=4, disk=8),
        )
    )
    by_snapshot = client.create(
        CreateSandboxFromSnapshotParams(snapshot="my-snap", labels={"suite": "local"})
    )
    declarative = client.create(
        CreateSandboxFromImageParams(
            image=Image.debian_slim("3.12")
            .pip_install("x")
            .workdir("/app")
            .env({"GREETING": "hi there"}),
        )
    )
    try:
        assert (by_string.cpu, by_string.memory, by_string.disk, by_string.auto_stop_interval) == (
            2,
            4,
            8,
            0,
        )
        infos = {s.id: s for s in server.sandboxes()}
        assert infos[by_string.id].image == "python:3.12-slim"
        assert infos[by_snapshot.id].snapshot == "my-snap" and infos[by_snapshot.id].image is None
        assert infos[declarative.id].image == "python:3.12.10-slim-bookworm"
        # WORKDIR and ENV of a declarative image are honoured; RUN lines cannot be.
        assert declarative.get_work_dir() == "/app"
        result = declarative.process.exec("pwd; echo $GREETING")
        assert result.result == "/app\nhi there\n"
        declarative.fs.upload_file(b"relative", "rel.txt")  # relative paths start at WORKDIR
        assert declarative.process.exec("cat /app/rel.txt").result == "relative"

        listed = {s.id for s in client.list(ListSandboxesQuery(labels={"suite": "local"}))}
        assert listed == {by_string.id, by_snapshot.id}
        assert [s.id for s in client.list(ListSandboxesQuery(labels={"kind": "string"}))] == [
            by_string.id
        ]
        assert {s.id for s in client.list(ListSandboxesQuery(limit=1))} >= {by_string.id}

        assert by_string.set_labels({"kind": "relabelled"}) == {"kind": "relabelled"}
        assert client.get(by_string.id).labels == {"kind": "relabelled"}
        by_string.set_autostop_interval(30)
        assert client.get(by_string.id).auto_stop_interval == 30
        by_string.stop()
        assert client.get(by_string.id).state == "stopped"
        by_string.start()
        assert by_string.process.exec("echo back").result == "back\n"
    finally:
        roots = [_root(server, s.id) for s in (by_string, by_snapshot, declarative)]
        for sb in (by_string, by_snapshot, declarative):
            sb.delete()
    assert not any(root.exists() for root in roots)
    with pytest.raises(DaytonaNotFoundError):
        client.get(by_string.id)


def test_require_key_rejects_other_keys() -> None:
    with LocalDaytona(require_key="s3cret") as srv:
        assert srv.env() == {"DAYTONA_API_URL": srv.api_url, "DAYTONA_API_KEY": "s3cret"}
        with pytest.raises(DaytonaAuthenticationError):
            Daytona(DaytonaConfig(api_url=srv.api_url, api_key="wrong")).create()
        assert srv.sandboxes() == []


# -- process ----------------------------------------------------------------------------------


def test_exec_cwd_env_exit_code_and_merged_output(sandbox) -> None:
    result = sandbox.process.exec("echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.result) == (3, "out\nerr\n")
    result = sandbox.process.exec(
        "pwd; echo $FOO $SANDBOX_VAR; echo $HOME", cwd="/tmp", env={"FOO": "bar"}
    )
    assert result.result == "/tmp\nbar from-create\n/home/daytona\n"
    sandbox.process.exec("mkdir -p proj/src")
    assert sandbox.process.exec("pwd", cwd="proj/src").result == "/home/daytona/proj/src\n"
    assert "/home/daytona/.local/bin" in sandbox.process.exec("echo $PATH").result
    for tool in ("grep", "find", "rg", "sed"):
        assert sandbox.process.exec(f"command -v {tool}").exit_code == 0, tool
    if os.path.exists("/usr/bin/python3"):  # the host's python is the jail's
        assert sandbox.process.code_run("import sys; print(sys.argv[1:])").result == "[]\n"


def _host_processes(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and "bwrap" not in cmdline:
            found.append(cmdline)
    return found


def test_exec_timeout_raises_and_kills_the_process_group(sandbox) -> None:
    start = time.monotonic()
    with pytest.raises(DaytonaProcessExecutionTimeoutError):
        sandbox.process.exec("sleep 31.7 & sleep 31.7", timeout=1)
    assert time.monotonic() - start < 4
    time.sleep(0.2)
    assert _host_processes("sleep 31.7") == []
    assert sandbox.process.exec("echo alive").result == "alive\n"


def test_sessions_keep_state_and_run_async(sandbox) -> None:
    sandbox.process.create_session("s1")
    sandbox.process.execute_session_command(
        "s1", SessionExecuteRequest(command="cd /tmp && export X=42")
    )
    result = sandbox.process.execute_session_command(
        "s1", SessionExecuteRequest(command="echo $X; pwd; echo e >&2")
    )
    assert (result.exit_code, result.stdout, result.stderr) == (0, "42\n/tmp\n", "e\n")
    started = sandbox.process.execute_session_command(
        "s1", SessionExecuteRequest(command="sleep 0.3; echo done; exit 4", run_async=True)
    )
    assert started.exit_code is None
    deadline = time.monotonic() + 5
    while sandbox.process.get_session_command("s1", started.cmd_id).exit_code is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert sandbox.process.get_session_command("s1", started.cmd_id).exit_code == 4
    assert sandbox.process.get_session_command_logs("s1", started.cmd_id).stdout == "done\n"
    assert [s.session_id for s in sandbox.process.list_sessions()] == ["s1"]
    sandbox.process.delete_session("s1")
    assert sandbox.process.list_sessions() == []


# -- the jail ---------------------------------------------------------------------------------


def test_jail_is_writable_except_host_dirs_and_cannot_remount(
    server: LocalDaytona, sandbox
) -> None:
    root = _root(server, sandbox.id)
    result = sandbox.process.exec("echo x > /usr/x")
    assert result.exit_code != 0 and "Read-only file system" in result.result
    assert not Path("/usr/x").exists()
    assert sandbox.process.exec("mkdir -p /work && echo hi > /work/x").exit_code == 0
    assert (root / "work" / "x").read_text() == "hi\n"
    for target in ("/", "/usr"):
        assert sandbox.process.exec(f"mount -o remount,rw {target}").exit_code != 0
    # Only CAP_SETFCAP (bit 31), as a container's root has: bubblewrap in the sandbox needs it.
    assert (
        "CapEff:\t0000000080000000" in sandbox.process.exec("grep CapEff /proc/self/status").result
    )
    assert sandbox.process.exec("pwd; echo $HOME").result == "/home/daytona\n/home/daytona\n"
    assert sandbox.get_user_home_dir() == sandbox.get_work_dir() == "/home/daytona"
    # Only the sandbox's own processes are visible.
    assert sandbox.process.exec("ls /proc | grep -c '^[0-9]'").result.strip() in {"2", "3", "4"}


def _interfaces(listing: str) -> set[str]:
    return {line.split(":")[0].strip() for line in listing.splitlines()[2:]}


def test_network_block_all_leaves_only_loopback(client: Daytona) -> None:
    blocked = client.create(CreateSandboxFromSnapshotParams(network_block_all=True))
    try:
        assert blocked.network_block_all is True
        assert _interfaces(blocked.process.exec("cat /proc/net/dev").result) == {"lo"}
    finally:
        blocked.delete()


def test_network_is_shared_by_default(sandbox) -> None:
    host = _interfaces(Path("/proc/net/dev").read_text())
    assert _interfaces(sandbox.process.exec("cat /proc/net/dev").result) == host


# -- files ------------------------------------------------------------------------------------


def test_upload_and_download(server: LocalDaytona, sandbox, tmp_path: Path) -> None:
    local = tmp_path / "local.bin"
    local.write_bytes(bytes(range(256)) * 1000)
    sandbox.fs.upload_file(b"hello", "/work/a.txt")
    sandbox.fs.upload_file(str(local), "rel/b.bin")
    odd = '/work/dir with space/\u00e9t\u00e9 "q".txt'
    sandbox.fs.upload_files(
        [
            FileUpload(source=b"one", destination="/work/n/1.txt"),
            FileUpload(source=b"odd", destination=odd),
        ]
    )

    root = _root(server, sandbox.id)
    assert (root / "work/a.txt").read_bytes() == b"hello"
    assert (root / "home/daytona/rel/b.bin").read_bytes() == local.read_bytes()
    assert sandbox.process.exec("cat /work/n/1.txt").result == "one"

    assert sandbox.fs.download_file("/work/a.txt") == b"hello"
    assert sandbox.fs.download_file(odd) == b"odd"
    sandbox.fs.download_file("rel/b.bin", str(tmp_path / "out" / "b.bin"))
    assert (tmp_path / "out" / "b.bin").read_bytes() == local.read_bytes()

    results = sandbox.fs.download_files(
        [
            FileDownloadRequest(source="/work/a.txt"),
            FileDownloadRequest(source="/work/missing.txt"),
            FileDownloadRequest(source="/work/n/1.txt", destination=str(tmp_path / "1.txt")),
        ]
    )
    assert results[0].result == b"hello" and results[0].error is None
    assert results[1].result is None and results[1].error_details.code == "FILE_NOT_FOUND"
    assert results[1].error_details.source == "DAYTONA_DAEMON"
    assert (tmp_path / "1.txt").read_bytes() == b"one"
    with pytest.raises(DaytonaFileNotFoundError):
        sandbox.fs.download_file("/work/missing.txt")


def test_list_find_search_info_and_edits(sandbox) -> None:
    sandbox.fs.create_folder("/work/src", "750")
    sandbox.fs.upload_files(
        [
            FileUpload(source=b"alpha\nneedle here\n", destination="/work/src/a.py"),
            FileUpload(source=b"no match\n", destination="/work/src/b.txt"),
            FileUpload(source=b"needle again\n", destination="/work/src/deep/c.py"),
        ]
    )
    names = {f.name: f for f in sandbox.fs.list_files("/work/src")}
    assert set(names) == {"a.py", "b.txt", "deep"} and names["deep"].is_dir
    assert names["a.py"].size == 18 and names["a.py"].path == "/work/src/a.py"
    assert {f.path for f in sandbox.fs.list_files("/work/src", depth=2)} >= {"/work/src/deep/c.py"}

    matches = sorted(
        (m.file, m.line, m.content) for m in sandbox.fs.find_files("/work/src", "needle")
    )
    assert matches == [
        ("/work/src/a.py", 2, "needle here"),
        ("/work/src/deep/c.py", 1, "needle again"),
    ]
    assert sorted(sandbox.fs.search_files("/work", "*.py").files) == [
        "/work/src/a.py",
        "/work/src/deep/c.py",
    ]

    info = sandbox.fs.get_file_info("/work/src")
    assert info.is_dir and info.permissions == "0750" and info.mode.startswith("d")
    with pytest.raises(DaytonaFileNotFoundError):
        sandbox.fs.get_file_info("/work/nope")

    sandbox.fs.set_file_permissions("/work/src/a.py", mode="600")
    assert sandbox.fs.get_file_info("/work/src/a.py").permissions == "0600"
    sandbox.fs.move_files("/work/src/b.txt", "/work/src/moved.txt")
    replaced = sandbox.fs.replace_in_files(["/work/src/a.py", "/work/src/none.py"], "needle", "pin")
    assert [r.success for r in replaced] == [True, False]
    assert (
        sandbox.process.exec("cat /work/src/a.py; ls /work/src").result
        == "alpha\npin here\na.py\ndeep\nmoved.txt\n"
    )
    sandbox.fs.delete_file("/work/src/moved.txt")
    with pytest.raises(DaytonaError):
        sandbox.fs.delete_file("/work/src")  # a directory needs recursive=True
    sandbox.fs.delete_file("/work/src", recursive=True)
    assert sandbox.process.exec("test -e /work/src").exit_code == 1


def test_file_api_sees_the_jail_view_and_cannot_escape(server: LocalDaytona, sandbox) -> None:
    root = _root(server, sandbox.id)
    outside = root.parent / "outside-secret.txt"
    outside.write_text("host secret")
    try:
        with pytest.raises(DaytonaInvalidFilePathError):
            sandbox.fs.download_file("../../../../outside-secret.txt")
        with pytest.raises(DaytonaError) as refused:  # uploads report errors as plain text
            sandbox.fs.upload_file(b"x", "/../outside-secret.txt")
        assert refused.value.status_code == 400 and "escapes the sandbox root" in str(refused.value)
        # Symlinks resolve inside the jail: an absolute or climbing target stays under its root.
        links = sandbox.process.exec(
            f"mkdir /work && ln -s {outside} /work/abs-link"
            f" && ln -s ../../../../../..{outside} /work/up-link && ln -s /etc/passwd /work/passwd"
        )
        assert links.exit_code == 0, links.result
        for link in ("/work/abs-link", "/work/up-link"):
            with pytest.raises(DaytonaFileNotFoundError):
                sandbox.fs.download_file(link)
        # /etc and /usr are the host's inside the jail, so the file API reads them from the host
        # and refuses writes there, directly or through a link.
        assert sandbox.fs.download_file("/etc/hostname") == Path("/etc/hostname").read_bytes()
        assert sandbox.fs.download_file("/work/passwd") == Path("/etc/passwd").read_bytes()
        assert sandbox.fs.download_file("/bin/true") == Path("/bin/true").read_bytes()
        for target in ("/usr/evil", "/work/passwd", "/etc/evil"):
            with pytest.raises(DaytonaError) as refused:
                sandbox.fs.upload_file(b"x", target)
            assert "read-only file system" in str(refused.value)
        with pytest.raises(DaytonaFileAccessDeniedError):
            sandbox.fs.delete_file("/usr", recursive=True)
        with pytest.raises(DaytonaFileAccessDeniedError):
            sandbox.fs.create_folder("/etc/evil", "755")
        assert outside.read_text() == "host secret" and not Path("/usr/evil").exists()
    finally:
        outside.unlink()


def test_sandbox_cannot_redirect_the_servers_own_file_access(tmp_path: Path, sandbox) -> None:
    host_dir = tmp_path / "host"
    host_dir.mkdir(mode=0o755)
    (host_dir / "secret").write_text("host only")
    # The server recreates /tmp before each command and reads session logs: neither may follow
    # a link the sandbox planted to a host path.
    sandbox.process.exec(f"rm -rf /tmp && ln -s {host_dir} /tmp")
    sandbox.process.exec("true")
    assert host_dir.stat().st_mode & 0o7777 == 0o755
    sandbox.process.exec("rm /tmp")
    sandbox.process.create_session("s")
    cmd = sandbox.process.execute_session_command("s", SessionExecuteRequest(command="echo mine"))
    sandbox.process.exec(
        f"cd /tmp/.daytona-sessions/s && ln -sf {host_dir}/secret {cmd.cmd_id}.out"
    )
    assert sandbox.process.get_session_command_logs("s", cmd.cmd_id).stdout == ""


def test_close_kills_processes_and_removes_sandbox_dirs() -> None:
    with LocalDaytona() as srv:
        sb = Daytona(config(srv)).create()
        sb.process.create_session("bg")
        sb.process.execute_session_command(
            "bg", SessionExecuteRequest(command="sleep 33.3 >/dev/null &")
        )
        assert _host_processes("sleep 33.3")
        root = _root(srv, sb.id)
    assert not root.exists() and not root.parent.exists()
    time.sleep(0.2)
    assert _host_processes("sleep 33.3") == []


# -- async client -----------------------------------------------------------------------------


async def test_async_client(server: LocalDaytona) -> None:
    async with AsyncDaytona(config(server)) as client:
        sb = await client.create(
            CreateSandboxFromImageParams(image="debian:bookworm", labels={"async": "yes"})
        )
        try:
            result = await sb.process.exec("echo $A; exit 2", env={"A": "async"})
            assert (result.exit_code, result.result) == (2, "async\n")
            await sb.fs.upload_files(
                [
                    FileUpload(source=b"1", destination="/work/one.txt"),
                    FileUpload(source=b"2" * 100_000, destination="/work/sub/two.txt"),
                ]
            )
            await sb.fs.upload_file(b"single", "single.txt")
            assert await sb.fs.download_file("/home/daytona/single.txt") == b"single"
            got = await sb.fs.download_files(
                [
                    FileDownloadRequest(source="/work/sub/two.txt"),
                    FileDownloadRequest(source="/nope"),
                ]
            )
            assert got[0].result == b"2" * 100_000 and got[1].error_details.code == "FILE_NOT_FOUND"
            assert {f.name for f in await sb.fs.list_files("/work")} == {"one.txt", "sub"}
            assert [m.file for m in await sb.fs.find_files("/work", "1")] == ["/work/one.txt"]
            assert (await sb.fs.search_files("/work", "two*")).files == ["/work/sub/two.txt"]
            with pytest.raises(DaytonaProcessExecutionTimeoutError):
                await sb.process.exec("sleep 5", timeout=1)
            assert [
                s.id async for s in client.list(ListSandboxesQuery(labels={"async": "yes"}))
            ] == [sb.id]
        finally:
            await sb.delete()
        with pytest.raises(DaytonaNotFoundError):
            await client.get(sb.id)


# -- faults -----------------------------------------------------------------------------------


def test_5xx_is_not_retried_by_the_sdk(server: LocalDaytona, sandbox) -> None:
    fault = server.inject("POST /process/execute", status=503, times=2)
    for _ in range(2):
        with pytest.raises(DaytonaServiceUnavailableError):
            sandbox.process.exec("true")
    assert sandbox.process.exec("echo ok").result == "ok\n"
    assert fault.hits == 2

    # With Retry-After, urllib3 under the sync SDK retries idempotent requests (GET), not POST.
    fault = server.inject("GET /files", status=503, times=2, retry_after=0)
    assert sandbox.fs.list_files("/home/daytona") is not None
    assert fault.hits == 2


def test_delay_and_hang(server: LocalDaytona, client: Daytona, sandbox) -> None:
    server.inject("*", delay=0.2)
    start = time.monotonic()
    sandbox.process.exec("true")
    assert time.monotonic() - start >= 0.2
    server.clear_faults()

    server.inject("POST /api/sandbox", timeout=True, times=1)
    before = len(server.sandboxes())
    start = time.monotonic()
    with pytest.raises(DaytonaTimeoutError):
        client.create(timeout=1)
    assert time.monotonic() - start < 3
    assert len(server.sandboxes()) == before


def test_killed_sandbox(server: LocalDaytona, client: Daytona) -> None:
    sb = client.create()
    threading.Timer(0.3, server.kill, [sb.id]).start()
    start = time.monotonic()
    with pytest.raises(DaytonaBadGatewayError):  # the command in flight dies with it
        sb.process.exec("sleep 10")
    assert time.monotonic() - start < 3
    with pytest.raises(DaytonaBadGatewayError):
        sb.process.exec("true")
    assert client.get(sb.id).state == "error"
    assert [s.state for s in server.sandboxes() if s.id == sb.id] == ["error"]
    sb.delete()


@pytest.mark.filterwarnings("ignore:Polling-only mode:DeprecationWarning")
def test_create_delay_keeps_create_waiting(server: LocalDaytona) -> None:
    server.create_delay = 1.0
    client = Daytona(config(server, use_deprecated_polling=True))
    start = time.monotonic()
    sb = client.create()
    took = time.monotonic() - start
    try:
        polls = [
            r for r in server.requests if r.method == "GET" and r.path == f"/api/sandbox/{sb.id}"
        ]
        print(f"create() with create_delay=1.0 took {took:.2f}s, {len(polls)} polls")
        assert 1.0 <= took < 2.0 and len(polls) >= 3
        assert sb.process.exec("echo up").result == "up\n"
    finally:
        sb.delete()


# -- the command line -------------------------------------------------------------------------


def test_main_serves_until_interrupted(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rho_agent.testing.daytona", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        env = dict(
            proc.stdout.readline().strip().removeprefix("export ").split("=", 1) for _ in range(2)
        )
        assert env["DAYTONA_API_URL"].startswith("http://127.0.0.1:") and env["DAYTONA_API_KEY"]
        client = Daytona(
            DaytonaConfig(api_url=env["DAYTONA_API_URL"], api_key=env["DAYTONA_API_KEY"])
        )
        sb = client.create()
        assert sb.process.exec("echo from-main").result == "from-main\n"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
