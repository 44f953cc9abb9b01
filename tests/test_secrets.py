"""Secrets stay out of what rho-agent writes and prints (traces, every CLI output format,
stored-session commands, notebook views) and out of what it uploads to a sandbox."""

from __future__ import annotations

import json
import shlex
import tarfile
from pathlib import Path

import _daytona
import pytest
from _daytona import tool_output
from _fixtures import run_cli

from rho_agent.backends._manifest import scan
from rho_agent.backends._specs import Upload
from rho_agent.backends._tarpipe import pack
from rho_agent.events import (
    Event,
    MessageAdded,
    RunFinished,
    TextDelta,
    ThinkingDelta,
    ToolCallStarted,
    parse_event,
)
from rho_agent.model import Usage
from rho_agent.store import Redactor
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, thinking, tool_call

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona

SHORT = "Zq7#w"  # under the old 8-character minimum
QUOTED = 'pa"ss\\wörd-42'  # JSON escapes it: the raw value is not in a JSON line
LONG = "sk-live-4f9a2c7e1b8d3f6a0c5e9b2d7a1f4c8e"  # the model prints a piece of it
PASSED = "hook-8f2c1e9a"  # a variable handed to tools on purpose (passthrough_env)
SECRET_ENV = {
    "MY_PASSWORD": SHORT,
    "DB_PASSWORD": QUOTED,
    "SERVICE_API_KEY": LONG,
    "DEPLOY_HOOK": PASSED,
}
PIECE = 12  # the documented shortest piece of a secret that is hidden


def forms(value: str) -> set[str]:
    """A value as it may appear: raw, JSON-escaped (ASCII or not), escaped twice."""
    out = {value}
    for ascii_only in (True, False):
        once = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        out |= {once, json.dumps(once, ensure_ascii=ascii_only)[1:-1]}
    return out


def leaks(output: str) -> list[str]:
    """Every form of every secret, and every 12-character piece of the long one, in `output`."""
    found = [form for value in SECRET_ENV.values() for form in forms(value) if form in output]
    pieces = {LONG[i : i + PIECE] for i in range(len(LONG) - PIECE + 1)}
    return found + sorted(piece for piece in pieces if piece in output)


# ------------------------------------------------------------------ the redactor


def test_redactor_hides_short_escaped_and_partial_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TINY_TOKEN", "abc")  # too short to be a credential: left alone
    redact = Redactor(passthrough=["DEPLOY_HOOK"])
    line = json.dumps({"output": f"a {SHORT} b {QUOTED} c {LONG[:16]}! d {PASSED} abc"})
    assert not leaks(redact(line)), redact(line)
    plain = f"before {LONG[3:20]} after; key={SHORT}."
    assert redact(plain) == "before [REDACTED] after; key=[REDACTED].", (
        "the whole run goes, nothing more"
    )
    assert redact("abc and sk-live-4f9") == "abc and sk-live-4f9", "short pieces are not secrets"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13])
def test_streamed_pieces_are_redacted_like_the_whole_text(size: int) -> None:
    redactor = Redactor([SHORT, QUOTED, LONG])
    whole = f"x{SHORT}{LONG[:14]} then {QUOTED}, {LONG} end {SHORT[:3]}"
    stream = redactor.stream()
    shown = "".join(stream.feed(whole[i : i + size]) for i in range(0, len(whole), size))
    shown += stream.flush()
    assert shown == redactor(whole) and not leaks(shown)


def test_event_stream_keeps_order_and_hides_split_secrets() -> None:
    from rho_agent.redact import EventRedactor

    redact = EventRedactor(Redactor([SHORT, LONG]))
    thought, said = f"think {LONG} done", f"say {SHORT}{SHORT} ok"
    events: list[Event] = [
        ThinkingDelta(text=thought[i : i + 4]) for i in range(0, len(thought), 4)
    ]
    events += [TextDelta(text=said[i : i + 2]) for i in range(0, len(said), 2)]
    events.append(ToolCallStarted(id="t1", name="bash", input={"command": f"echo {LONG[5:30]}"}))
    shown = [e for event in events for e in redact(event)]
    kinds = [e.type for e in shown]
    assert kinds == sorted(kinds, key=["thinking", "text", "tool_started"].index), kinds
    assert "".join(e.text for e in shown if isinstance(e, ThinkingDelta)) == "think [REDACTED] done"
    assert "".join(e.text for e in shown if isinstance(e, TextDelta)) == "say [REDACTED] ok"
    assert shown[-1] == events[-1].model_copy(update={"input": {"command": "echo [REDACTED]"}})


# ------------------------------------------------------------------ rho-agent main, every format


def _script() -> list:
    command = "printf '%s\\n' " + " ".join(
        shlex.quote(v) for v in (SHORT, QUOTED, LONG[:16], PASSED)
    )
    return [
        reply(
            thinking(f"The key is {LONG}.", signature="sig"),
            text(f"Short {SHORT}, quoted {QUOTED}, hook {PASSED}."),
            tool_call("bash", {"command": command}),
            chunk=3,  # every secret is split across deltas
        ),
        reply(text(f"Prefix {LONG[:16]} and the rest {LONG}; {QUOTED}. Done."), chunk=3),
    ]


def _run_main(project: Path, rho_home: Path, fmt: str) -> tuple[str, Path]:
    (rho_home / "config.toml").write_text('passthrough_env = ["DEPLOY_HOOK"]\n')
    with FakeAnthropic(_script()) as fake:
        proc = run_cli(
            "main",
            "--profile",
            "developer",
            "--yes",
            "--output-format",
            fmt,
            "--working-dir",
            str(project),
            f"check {SHORT}",
            env={**fake.env(), **SECRET_ENV},
        )
        fake.assert_done()
    assert proc.returncode == 0, proc.stderr
    tool_result = fake.requests[1].tool_results[0]["content"]
    assert SHORT in str(tool_result), "the tool really printed the secrets"
    return proc.stdout + proc.stderr, next((rho_home / "sessions").iterdir())


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl"])
def test_main_output_and_trace_hold_no_secret(project: Path, rho_home: Path, fmt: str) -> None:
    output, session = _run_main(project, rho_home, fmt)
    assert "[REDACTED]" in output and "Done." in output
    assert not leaks(output), output
    trace = (session / "trace.jsonl").read_text()
    assert not leaks(trace) and "[REDACTED]" in trace
    assert all(parse_event(line) for line in trace.splitlines()), "every trace line is still valid"
    assert not leaks((session / "meta.json").read_text())
    if fmt == "jsonl":
        events = [parse_event(line) for line in output.splitlines() if line.startswith("{")]
        assert isinstance(events[-1], RunFinished) and "Done." in events[-1].text


def test_stored_session_commands_print_no_secret(project: Path, rho_home: Path) -> None:
    _run_main(project, rho_home, "jsonl")
    env = dict(SECRET_ENV)
    shown = [
        run_cli("sessions", *args, env=env)
        for args in (
            ["list"],
            ["show", "latest"],
            ["export", "latest"],
            ["export", "latest", "--format", "json"],
        )
    ]
    for proc in shown:
        assert proc.returncode == 0, proc.stderr
        assert not leaks(proc.stdout), proc.stdout
    assert "[REDACTED]" in shown[1].stdout and "Done." in shown[1].stdout
    assert all(parse_event(line) for line in shown[2].stdout.splitlines())


def test_a_trace_written_before_is_redacted_when_shown(rho_home: Path) -> None:
    """`sessions show/export` redact with today's secrets, whatever wrote the trace."""
    session = rho_home / "sessions" / "20250101-000000-abcdef"
    session.mkdir(parents=True)
    old = MessageAdded(role="assistant", content=[{"type": "text", "text": f"old {SHORT} {LONG}"}])
    (session / "trace.jsonl").write_text(old.model_dump_json() + "\n")
    for args in (
        ["show", "latest"],
        ["export", "latest"],
        ["export", "latest", "--format", "json"],
    ):
        proc = run_cli("sessions", *args, env=dict(SECRET_ENV))
        assert proc.returncode == 0, proc.stderr
        assert not leaks(proc.stdout) and "old [REDACTED]" in proc.stdout, proc.stdout


# ------------------------------------------------------------------ notebook views


def test_notebook_view_shows_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from rho_agent.notebook.render import RunView

    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    answer = f"Prefix {LONG[:16]} and {SHORT}; {QUOTED}."
    view = RunView("prompt")
    for i in range(0, len(answer), 3):
        view.on_event(TextDelta(text=answer[i : i + 3]))
    view.on_event(ToolCallStarted(id="t1", name="bash", input={"command": f"echo {SHORT}"}))
    view.on_event(
        RunFinished(status="completed", text=answer, usage=Usage(), cost_usd=0.0, turns=1)
    )
    bundles = [view.live_bundle(), view.answer_bundle(), view.log_bundle()]
    shown = json.dumps(bundles, ensure_ascii=False)
    assert not leaks(shown), shown
    assert "Prefix [REDACTED] and [REDACTED]" in view.answer_markdown()


# ------------------------------------------------------------------ uploads

# Credential files of well-known tools that an upload of the project must leave out.
CREDENTIALS = [
    ".config/gh/hosts.yml",  # GitHub CLI
    ".docker/config.json",  # Docker registry logins
    ".pgpass",  # PostgreSQL libpq
    "home/.vault-token",  # HashiCorp Vault
    "keys/AuthKey_ABC123XYZ.p8",  # Apple App Store Connect / APNs
    ".cargo/credentials.toml",  # cargo
    ".cargo/credentials",  # cargo, before 1.46
    "deploy/kubeconfig",  # kubectl
    "deploy/prod.kubeconfig",
    "keys/private.asc",  # GnuPG exported key
    "gpg/secring.gpg",  # GnuPG 1 keyring
    "infra/prod.tfvars",  # Terraform
    "infra/terraform.tfstate",
    "infra/terraform.tfstate.backup",
]
# Files with the same ordinary names elsewhere, which are uploaded.
ORDINARY = [
    "config.json",
    "hosts.yml",
    "app/hosts.yml",
    "docker/config.json",
    ".cargo/config.toml",
    "infra/main.tf",
    "README.md",
]


def _pack_project(tmp_path: Path, files: list[str]) -> tuple[set[str], list[str], str]:
    project = tmp_path / "project"
    for rel in files:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(f"contents of {rel}\n")
    (project / "gpg" / "private-keys-v1.d").mkdir(parents=True)
    (project / "gpg" / "private-keys-v1.d" / "ABCDEF.key").write_text("key\n")
    (project / "gpg" / "private-keys-v1.d" / "notes.txt").write_text("key notes\n")
    archive = tmp_path / "out.tar"
    target = Upload(project, "/home/daytona/project")
    manifest = scan([target])
    pack(manifest.trees, archive)
    report = manifest.report
    with tarfile.open(archive, ignore_zeros=True) as tar:  # one archive per mapping
        names = {n.removeprefix("home/daytona/project/") for n in tar.getnames()}
    return names, report.secrets, report.summary([target])


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_credential_files_are_not_uploaded(tmp_path: Path, credential: str) -> None:
    names, skipped, summary = _pack_project(tmp_path, [credential, *ORDINARY])
    assert credential not in names
    assert credential in skipped and "secret file(s)" in summary, (
        "the report says what was left out"
    )
    assert set(ORDINARY) <= names, "files with the same names elsewhere still go"


def test_gpg_private_key_directory_is_not_uploaded(tmp_path: Path) -> None:
    names, skipped, _ = _pack_project(tmp_path, ORDINARY)
    assert not any("private-keys-v1.d" in n for n in names)
    assert "gpg/private-keys-v1.d/" in skipped


def test_auto_upload_to_a_sandbox_leaves_credentials_out(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """`rho-agent main --backend daytona` from a project: what the sandbox really receives."""
    project = tmp_path / "myapp"
    for rel in [*CREDENTIALS, *ORDINARY]:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(f"contents of {rel}\n")
    listing = reply(tool_call("bash", {"command": "find . -type f | sort"}))
    with FakeAnthropic([listing, reply(text("Listed."))]) as fake:
        proc = run_cli(
            "main", "--backend", "daytona", "--profile", "developer", "--yes", "list the files",
            env={**fake.env(), **daytona.env()}, cwd=project,
        )  # fmt: skip
        fake.assert_done()
    assert proc.returncode == 0, proc.stderr
    uploaded = set(tool_output(fake, 1).replace("./", "").split())
    assert set(ORDINARY) <= uploaded
    assert not set(CREDENTIALS) & uploaded, set(CREDENTIALS) & uploaded
    assert f"skipped {len(CREDENTIALS)} secret file(s)" in proc.stderr
