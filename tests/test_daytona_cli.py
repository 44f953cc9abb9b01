"""Every CLI example of the Daytona page, run as written in a real subprocess, plus the
error paths: each gives one clear message, a distinct non-zero exit, and no sandbox left."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import _daytona
import pexpect
from _daytona import make_project, tool_output, wait_for_no_sandboxes

from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, tool_call

DONE = reply(text("Done."))

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona


def env_for(server: LocalDaytona, fake: FakeAnthropic | None = None) -> dict[str, str]:
    return {**server.env(), **(fake.env() if fake else {"ANTHROPIC_API_KEY": "test-key"})}


def cli(
    *args: str,
    server: LocalDaytona,
    fake: FakeAnthropic | None = None,
    cwd: Path,
    stdin: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_for(server, fake), **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rho_agent", *args],
        env=env,
        cwd=cwd,
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=90,
    )


def recording(server: LocalDaytona, seen: dict, then) -> object:
    """A script step that notes the live sandboxes when the model is called, then answers."""

    def step(request):
        seen["sandboxes"] = server.sandboxes()
        return then

    return step


# ---------------------------------------------------------------------- the page's examples


def test_one_shot_task_in_a_sandbox(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    script = [
        reply(
            tool_call("write", {"path": "calc.py", "content": "def add(a, b):\n    return a + b\n"})
        ),
        reply(
            tool_call(
                "write",
                {
                    "path": "test_calc.py",
                    "content": (
                        "import unittest\nfrom calc import add\n\n"
                        "class T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n"
                        "unittest.main()\n"
                    ),
                },
            )
        ),
        reply(tool_call("bash", {"command": "python3 test_calc.py 2>&1; pwd; ls -A"})),
        reply(text("The project is set up and its test passes.")),
    ]
    with FakeAnthropic(script) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--profile",
            "developer",
            "set up a Python project and run the tests",
            server=daytona,
            fake=fake,
            cwd=project,
        )
        fake.assert_done()
    assert proc.returncode == 0, proc.stderr
    assert "The project is set up and its test passes." in proc.stdout
    out = tool_output(fake, 3)
    assert "Ran 1 test" in out and "OK" in out
    # The project was auto-uploaded to /home/daytona/<project-name>, without secrets or ignored files.
    listing = out.split("/home/daytona/myapp\n", 1)[1].split()
    assert {"README.md", "src", ".env.example", "keep.log", "certs", "calc.py"} <= set(listing)
    assert not {".env", "id_rsa", "build", "debug.log", "node_modules", ".git"} & set(listing)
    assert "skipped 3 secret file(s): .env, certs/server.key, id_rsa" in proc.stderr
    assert "To include one, name it: --upload ./.env:/home/daytona/myapp/.env" in proc.stderr
    assert not (project / "calc.py").exists(), "the tools ran in the sandbox, not here"


def test_backend_from_the_environment_variable(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    with FakeAnthropic([reply(tool_call("bash", {"command": "hostname"})), DONE]) as fake:
        proc = cli(
            "main",
            "--profile",
            "developer",
            "--yes",
            "what host is this?",
            server=daytona,
            fake=fake,
            cwd=project,
            extra_env={"RHO_AGENT_BACKEND": "daytona"},
        )
    assert proc.returncode == 0, proc.stderr
    assert tool_output(fake, 1).startswith("sandbox-")


def test_upload_a_project_directory(daytona: LocalDaytona, tmp_path: Path) -> None:
    make_project(tmp_path, "my-project")
    command = "ls -A /work/my-project /work/my-project/src; ls /home/daytona"
    with FakeAnthropic([reply(tool_call("bash", {"command": command})), DONE]) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--upload",
            "./my-project:/work/my-project",
            "--profile",
            "developer",
            server=daytona,
            fake=fake,
            cwd=tmp_path,
            stdin="look at /work/my-project",
        )
    assert proc.returncode == 0, proc.stderr
    out = tool_output(fake, 1)
    assert "README.md" in out and "app.py" in out and ".env.example" in out
    assert ".env\n" not in out and "id_rsa" not in out and "node_modules" not in out


def test_multiple_uploads(daytona: LocalDaytona, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("a,b\n1,2\n")
    (tmp_path / "config.yaml").write_text("mode: test\n")
    (tmp_path / "unrelated.txt").write_text("not uploaded\n")
    command = "cat /work/data/rows.csv /work/config.yaml; ls -A /home/daytona"
    start = len(daytona.requests)
    with FakeAnthropic([reply(tool_call("bash", {"command": command})), DONE]) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--upload",
            "./data:/work/data",
            "--upload",
            "./config.yaml:/work/config.yaml",
            "--profile",
            "developer",
            server=daytona,
            fake=fake,
            cwd=tmp_path,
            stdin="read the data",
        )
    assert proc.returncode == 0, proc.stderr
    out = tool_output(fake, 1)
    assert out.startswith("a,b\n1,2\nmode: test")
    assert "unrelated" not in out, "--upload replaces the auto-upload of the project"
    # One archive and one extract command, not a request per file.
    uploads = [r for r in daytona.requests[start:] if r.path.endswith("/files/bulk-upload")]
    assert len(uploads) == 1


PROJECT_TOML = """\
[sandbox]
image = "python:3.12-slim"
working_dir = "/home/daytona/myapp/src"
setup = [
  "echo setup ran in $(pwd) > /tmp/setup.txt",
  "echo $DATABASE_URL >> /tmp/setup.txt",
]

[sandbox.env]
DATABASE_URL = "sqlite:///db.sqlite3"
NODE_ENV = "development"
"""


def test_project_configuration_just_run(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / ".rho-agent.toml").write_text(PROJECT_TOML)
    below = project / "src"  # discovered by walking up from a subdirectory
    seen: dict = {}
    command = "cat /tmp/setup.txt; pwd; echo $NODE_ENV; ls"
    script = [reply(tool_call("bash", {"command": command})), recording(daytona, seen, DONE)]
    with FakeAnthropic(script) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--profile",
            "developer",
            "run the tests",
            server=daytona,
            fake=fake,
            cwd=below,
        )
    assert proc.returncode == 0, proc.stderr
    assert tool_output(fake, 1) == (
        "setup ran in /home/daytona/myapp/src\nsqlite:///db.sqlite3\n/home/daytona/myapp/src\ndevelopment\napp.py"
    )
    (box,) = seen["sandboxes"]
    assert box.image == "python:3.12-slim"
    assert "[setup 1/2] $ echo setup ran" in proc.stderr


def test_override_the_image_with_a_dockerfile(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / ".rho-agent.toml").write_text('[sandbox]\nimage = "python:3.12-slim"\n')
    (project / "Dockerfile.dev").write_text(
        "FROM node:22-bookworm\nENV FROM_DOCKERFILE=yes\nRUN echo hi\n"
    )
    seen: dict = {}
    script = [
        reply(tool_call("bash", {"command": "echo $FROM_DOCKERFILE"})),
        recording(daytona, seen, DONE),
    ]
    with FakeAnthropic(script) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--dockerfile",
            "./Dockerfile.dev",
            "--profile",
            "developer",
            server=daytona,
            fake=fake,
            cwd=project,
            stdin="check the image",
        )
    assert proc.returncode == 0, proc.stderr
    assert seen["sandboxes"][0].image == "node:22-bookworm"
    assert tool_output(fake, 1) == "yes"


def test_override_uploads_disables_auto_upload(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "data").mkdir()
    (project / "data" / "x.csv").write_text("1\n")
    command = "ls /work/data; ls /home/daytona"
    with FakeAnthropic([reply(tool_call("bash", {"command": command})), DONE]) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--upload",
            "./data:/work/data",
            "--profile",
            "developer",
            server=daytona,
            fake=fake,
            cwd=project,
            stdin="list",
        )
    assert proc.returncode == 0, proc.stderr
    assert tool_output(fake, 1) == "x.csv", (
        "only --upload's data; the project root was not uploaded"
    )


def test_override_the_working_directory(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    with FakeAnthropic(
        [reply(tool_call("bash", {"command": "pwd; ls /home/daytona/myapp"})), DONE]
    ) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--working-dir",
            "/home/daytona/myapp/backend",
            "--profile",
            "developer",
            server=daytona,
            fake=fake,
            cwd=project,
            stdin="where am I?",
        )
    assert proc.returncode == 0, proc.stderr
    out = tool_output(fake, 1).splitlines()
    assert out[0] == "/home/daytona/myapp/backend" and "README.md" in out


def test_interactive_session_with_download(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    script = [
        reply(tool_call("bash", {"command": "mkdir -p out && echo 42 > out/answer.txt"})),
        reply(text("Wrote it.")),
    ]
    with FakeAnthropic(script) as fake:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "rho_agent", "main", "--backend", "daytona", "--profile", "developer"],
            env={
                **os.environ,
                **env_for(daytona, fake),
                "TERM": "xterm",
                "PROMPT_TOOLKIT_NO_CPR": "1",
            },
            cwd=str(project),
            encoding="utf-8",
            timeout=30,
            dimensions=(40, 120),
        )
        child.expect("backend daytona")
        child.expect("Type /help")
        child.sendline("write the answer")
        child.expect("Wrote it.")
        child.expect("turn\\(s\\)")
        child.sendline("/download /home/daytona/myapp/out ./results")
        child.expect("Downloaded /home/daytona/myapp/out")
        child.sendline("/download missing.txt ./x")
        child.expect("does not exist")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0
    assert (project / "results" / "answer.txt").read_text() == "42\n"
    assert wait_for_no_sandboxes(daytona, 5) == []


def test_download_after_a_one_shot_run(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    script = [
        reply(tool_call("bash", {"command": "echo '{\"ok\": true}' > /home/daytona/results.json"})),
        DONE,
    ]
    with FakeAnthropic(script) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--profile",
            "developer",
            "--download",
            "/home/daytona/results.json:./out/results.json",
            "make results",
            server=daytona,
            fake=fake,
            cwd=project,
        )
    assert proc.returncode == 0, proc.stderr
    assert (project / "out" / "results.json").read_text() == '{"ok": true}\n'
    assert "Downloaded /home/daytona/results.json" in proc.stderr


def test_keep_then_reattach_and_the_sandboxes_command(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project = make_project(tmp_path)
    with FakeAnthropic(
        [reply(tool_call("bash", {"command": "echo kept > /home/daytona/memo"})), DONE]
    ) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--profile",
            "developer",
            "--keep",
            "remember",
            server=daytona,
            fake=fake,
            cwd=project,
        )
    assert proc.returncode == 0, proc.stderr
    (box,) = daytona.sandboxes()
    assert (
        f"--sandbox {box.id}" in proc.stderr
        and f"rho-agent sandboxes delete {box.id}" in proc.stderr
    )

    listed = cli("sandboxes", "list", server=daytona, cwd=project)
    assert listed.returncode == 0 and box.id in listed.stdout and "kept" in listed.stdout
    cleaned = cli("sandboxes", "cleanup", "--older-than", "0", server=daytona, cwd=project)
    assert cleaned.returncode == 0 and daytona.sandboxes(), "cleanup leaves kept sandboxes alone"

    with FakeAnthropic(
        [reply(tool_call("bash", {"command": "cat /home/daytona/memo; pwd"})), DONE]
    ) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--profile",
            "developer",
            "--sandbox",
            box.id,
            "recall",
            server=daytona,
            fake=fake,
            cwd=project,
        )
    assert proc.returncode == 0, proc.stderr
    assert tool_output(fake, 1) == "kept\n/home/daytona/myapp"
    assert "Uploading" not in proc.stderr, "reattaching does not upload the project again"
    assert wait_for_no_sandboxes(daytona, 5) == []


def test_sandboxes_command_touches_only_rho_agents_sandboxes(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    from daytona import CreateSandboxFromSnapshotParams, Daytona

    client = Daytona()
    old = client.create(
        CreateSandboxFromSnapshotParams(
            labels={
                "rho-agent": "1",
                "rho-agent-user": _me(),
                "rho-agent-created": "2020-01-01T00:00:00Z",
            }
        )
    )
    new = client.create(
        CreateSandboxFromSnapshotParams(labels={"rho-agent": "1", "rho-agent-user": _me()})
    )
    foreign = client.create(CreateSandboxFromSnapshotParams(labels={"team": "other"}))
    try:
        listed = cli("sandboxes", "list", server=daytona, cwd=tmp_path)
        assert listed.returncode == 0
        assert (
            old.id in listed.stdout and new.id in listed.stdout and foreign.id not in listed.stdout
        )

        refused = cli("sandboxes", "delete", foreign.id, server=daytona, cwd=tmp_path)
        assert refused.returncode == 1 and "not a rho-agent sandbox" in refused.stderr
        assert foreign.id in {b.id for b in daytona.sandboxes()}

        cleaned = cli("sandboxes", "cleanup", "--older-than", "2h", server=daytona, cwd=tmp_path)
        assert cleaned.returncode == 0 and f"Deleted {old.id}" in cleaned.stdout
        assert {b.id for b in daytona.sandboxes()} == {new.id, foreign.id}

        deleted = cli("sandboxes", "delete", new.id, server=daytona, cwd=tmp_path)
        assert deleted.returncode == 0 and f"Deleted {new.id}" in deleted.stdout
        bad = cli("sandboxes", "cleanup", "--older-than", "soon", server=daytona, cwd=tmp_path)
        assert bad.returncode == 2 and "--older-than 'soon'" in bad.stderr
    finally:
        for box in (old, new, foreign):
            try:
                client.delete(box)
            except Exception:
                pass


def _me() -> str:
    from rho_agent.backends.daytona import user_label

    return user_label()


# ---------------------------------------------------------------------- failures


def test_bad_project_file(daytona: LocalDaytona, tmp_path: Path) -> None:
    start = len(daytona.requests)
    project = make_project(tmp_path)
    (project / ".rho-agent.toml").write_text(
        '[sandbox]\nimage = "python:3.12"\nsetpu = ["uv sync"]\n'
    )
    proc = cli(
        "main", "--backend", "daytona", "--profile", "developer", "go", server=daytona, cwd=project
    )
    assert proc.returncode == 2, proc.stderr
    assert ".rho-agent.toml: unknown key 'sandbox.setpu' (did you mean \"setup\"?)" in proc.stderr
    assert "Traceback" not in proc.stderr

    (project / ".rho-agent.toml").write_text('[sandbox]\nimage = "a"\nsnapshot = "b"\n')
    proc = cli(
        "main", "--backend", "daytona", "--profile", "developer", "go", server=daytona, cwd=project
    )
    assert proc.returncode == 2 and "set only one of image, dockerfile and snapshot" in proc.stderr
    assert not [r for r in daytona.requests[start:] if r.path == "/api/sandbox"]


def test_bad_upload_flag(daytona: LocalDaytona, tmp_path: Path) -> None:
    start = len(daytona.requests)
    for spec, problem in [
        ("./missing:/work/x", "./missing does not exist"),
        ("justonepath", "expected LOCAL:REMOTE"),
    ]:
        proc = cli(
            "main", "--backend", "daytona", "--upload", spec, "go", server=daytona, cwd=tmp_path
        )
        assert proc.returncode == 2, proc.stderr
        assert (
            f"--upload '{spec}'" in proc.stderr
            and problem in proc.stderr
            and "Traceback" not in proc.stderr
        )
    assert not [r for r in daytona.requests[start:] if r.path == "/api/sandbox"]


def test_failing_setup_command(daytona: LocalDaytona, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / ".rho-agent.toml").write_text(
        '[sandbox]\nsetup = ["echo resolving; echo no such package >&2; exit 7"]\n'
    )
    with FakeAnthropic([fault.slow_first_byte(10, then=DONE)]) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--profile",
            "developer",
            "go",
            server=daytona,
            fake=fake,
            cwd=project,
        )
    assert proc.returncode == 4, proc.stderr
    assert "exited with code 7" in proc.stderr and "no such package" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert wait_for_no_sandboxes(daytona, 5) == []


def test_missing_daytona_api_key(daytona: LocalDaytona, tmp_path: Path) -> None:
    start = len(daytona.requests)
    proc = cli(
        "main",
        "--backend",
        "daytona",
        "go",
        server=daytona,
        cwd=tmp_path,
        extra_env={"DAYTONA_API_KEY": ""},
    )
    assert proc.returncode == 3, proc.stderr
    assert "DAYTONA_API_KEY" in proc.stderr and "Traceback" not in proc.stderr
    assert not [r for r in daytona.requests[start:] if r.path.startswith("/api/sandbox")]


def test_sandbox_that_fails_to_start(daytona: LocalDaytona, tmp_path: Path) -> None:
    daytona.create_delay = 5.0
    before = {b.id for b in daytona.sandboxes()}

    def kill_it() -> None:
        for _ in range(500):
            new = [b for b in daytona.sandboxes() if b.id not in before]
            if new:
                daytona.kill(new[0].id, "no capacity in region")
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_it)
    killer.start()
    with FakeAnthropic([fault.slow_first_byte(20, then=DONE)]) as fake:
        proc = cli(
            "main",
            "--backend",
            "daytona",
            "--profile",
            "developer",
            "go",
            server=daytona,
            fake=fake,
            cwd=tmp_path,
        )
    killer.join()
    assert proc.returncode == 1, proc.stderr
    assert "failed to start" in proc.stderr and "no capacity in region" in proc.stderr
    assert "Traceback" not in proc.stderr


# SIGINT to the CLI: see test_daytona_leaks.py.
