"""The create request sent before the Daytona SDK is imported (`_early.py`): it is the request
the SDK would send, and each way it can go wrong ends as an SDK create would, with nothing
left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _daytona
import pytest
from _daytona import agent_for, run_cli

from rho_agent import Session
from rho_agent.backends import OpenRequest
from rho_agent.testing.daytona import CreateRequest, LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call
from rho_agent.tools.handlers.daytona import DaytonaBackend

daytona = _daytona.daytona  # fixture
daytona_server = _daytona.daytona_server  # fixture

DONE = reply(text("Done."))
#: What the HTTP client itself adds; everything else must be the SDK's.
TRANSPORT = {"host", "content-length", "accept-encoding", "connection"}
#: Labels that differ between two sessions (the session's, the second it was created at).
PER_SESSION = {"rho-agent-created"}


def sent_early(request: CreateRequest) -> bool:
    """Sent by the stdlib client (before the SDK) rather than the SDK's aiohttp."""
    return request.headers.get("Accept-Encoding") == "identity"


async def create_once(server: LocalDaytona, backend: DaytonaBackend) -> CreateRequest:
    """Open a workspace with `backend`, wait for its sandbox, close it: the create request."""
    before = len(server.create_requests)
    workspace = await backend.open(OpenRequest(session_id="same-session", working_dir=None))
    try:
        await workspace.ready()
    finally:
        kept = workspace.sandbox.id if backend.keep else None
        await workspace.close()
    if kept:
        _daytona.delete_sandbox(server, kept)
    (request,) = server.create_requests[before:]
    return request


def comparable(request: CreateRequest) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in TRANSPORT}
    body = dict(request.body)
    assert body.pop("name").startswith("rho-agent-same-session-")
    body["labels"] = {k: v for k, v in body["labels"].items() if k not in PER_SESSION}
    return headers, body


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"snapshot": "team-snapshot"},
        {"image": "python:3.12-slim", "env_vars": {"A": "1"}, "labels": {"team": "data"}},
        {"keep": True, "auto_stop_interval": 0, "auto_delete_interval": 90},
    ],
    ids=["default", "snapshot", "image-env-labels", "keep"],
)
async def test_the_early_request_is_the_sdks_request(
    daytona: LocalDaytona, settings: dict[str, Any]
) -> None:
    from daytona import DaytonaConfig

    early = await create_once(daytona, DaytonaBackend(**settings))
    # A config object (even one that only names the endpoint) leaves the create to the SDK,
    # which reads the rest from the environment as the early request did.
    through_sdk = DaytonaBackend(config=DaytonaConfig(api_url=daytona.api_url), **settings)
    sdk = await create_once(daytona, through_sdk)
    assert sent_early(early) and not sent_early(sdk)
    assert comparable(early) == comparable(sdk)


async def test_dotenv_target_and_a_jwt_are_read_as_the_sdk_reads_them(
    daytona: LocalDaytona, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daytona import DaytonaConfig

    monkeypatch.delenv("DAYTONA_API_KEY")
    monkeypatch.setenv("DAYTONA_JWT_TOKEN", "jwt-from-env")
    Path(".env").write_text("DAYTONA_ORGANIZATION_ID=org-from-dotenv\nDAYTONA_TARGET=eu\n")
    Path(".env.local").write_text("DAYTONA_TARGET=us\n")  # .env.local comes before .env
    early = await create_once(daytona, DaytonaBackend())
    sdk = await create_once(daytona, DaytonaBackend(config=DaytonaConfig(api_url=daytona.api_url)))
    assert sent_early(early)
    assert early.body["target"] == "us"
    assert early.headers["Authorization"] == "Bearer jwt-from-env"
    assert early.headers["X-Daytona-Organization-ID"] == "org-from-dotenv"
    assert comparable(early) == comparable(sdk)


async def test_a_proxy_leaves_the_create_to_the_sdk(
    daytona: LocalDaytona, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's aiohttp honours proxy variables (trust_env); the early request does not try to.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert not sent_early(await create_once(daytona, DaytonaBackend()))


async def test_the_cli_sends_the_create_request_first(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    script = [reply(tool_call("bash", {"command": "echo from-the-sandbox"})), DONE]
    with FakeAnthropic(script) as fake:
        done = run_cli(
            "main", "--backend", "daytona", "--profile", "developer", "go",
            env={**fake.env(), "RHO_AGENT_HOME": str(tmp_path / "home")},
            cwd=Path.cwd(),
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = next(r for r in daytona.requests if "socket.io" not in r.path)
    assert (first.method, first.path) == ("POST", "/api/sandbox")
    assert sent_early(daytona.create_requests[-1])


async def test_a_refused_early_request_fails_as_the_sdks_would(daytona: LocalDaytona) -> None:
    from daytona import DaytonaConfig

    errors = []
    for backend in (
        DaytonaBackend(),
        DaytonaBackend(config=DaytonaConfig(api_url=daytona.api_url)),
    ):
        daytona.inject("POST /api/sandbox", status=403, message="Quota exceeded: 10 sandboxes")
        with FakeAnthropic([reply(tool_call("bash", {"command": "true"}))]) as fake:
            async with Session(agent_for(fake, backend)) as session:
                result = await session.run("go")
        daytona.clear_faults()
        assert result.status == "error"
        errors.append(result.error)
    assert "Quota exceeded: 10 sandboxes" in errors[0]
    assert errors[0] == errors[1]
    assert daytona.sandboxes() == []


@pytest.mark.parametrize(
    ("fault", "creates"),
    [({"lose_answer": True}, 1), ({"status": 503}, 2)],
    ids=["lost: found by name", "5xx: created by the SDK"],
)
async def test_an_unanswered_early_request_makes_one_sandbox(
    daytona: LocalDaytona, fault: dict[str, Any], creates: int
) -> None:
    """Its answer lost (the sandbox exists) or a 5xx (it may): found by name, or created by
    the SDK; one sandbox either way, and the run goes on."""
    before = len(daytona.requests)
    daytona.inject("POST /api/sandbox", times=1, **fault)
    with FakeAnthropic([reply(tool_call("bash", {"command": "echo fine"})), DONE]) as fake:
        async with Session(agent_for(fake)) as session:
            result = await session.run("go")
            ids = {box.id for box in daytona.sandboxes()}
    assert result.ok, result.error
    assert len(ids) == 1
    posts = [r for r in daytona.requests[before:] if (r.method, r.path) == ("POST", "/api/sandbox")]
    assert len(posts) == creates


async def test_closing_waits_for_the_early_answer_then_deletes(daytona: LocalDaytona) -> None:
    from daytona import AsyncDaytona  # noqa: F401  (imported: closing does not wait on it)

    # The answer comes after a name lookup would have given up (3 lookups, 0.3 s apart).
    before = len(daytona.create_requests)
    daytona.inject("POST /api/sandbox", delay=2.0, times=1)
    with FakeAnthropic([]) as fake:
        session = Session(agent_for(fake))
        await session.start()
        await session.close()
    assert len(daytona.create_requests) - before == 1  # it was made, and deleted
    assert daytona.sandboxes() == []


async def test_without_the_sdk_the_early_sandbox_is_deleted_its_own_way(
    daytona: LocalDaytona, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rho_agent.backends.daytona._lifecycle as lifecycle

    def broken(config: Any = None) -> Any:
        raise ImportError("the Daytona SDK is broken")

    monkeypatch.setattr(lifecycle, "make_client", broken)
    before = len(daytona.create_requests)
    workspace = await DaytonaBackend().open(OpenRequest(session_id="s", working_dir=None))
    with pytest.raises(Exception, match="SDK is broken"):
        await workspace.ready()
    await workspace.close()
    assert len(daytona.create_requests) - before == 1
    assert daytona.sandboxes() == []


async def test_a_dotenv_file_cannot_send_the_key_elsewhere(daytona: LocalDaytona) -> None:
    """The working directory is not always the user's: a `.env` there that names another
    endpoint is ignored (as the SDK ignores it), so the API key never goes there."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    Path(".env").write_text(f"DAYTONA_API_URL=http://127.0.0.1:{port}/api\n")
    try:
        with pytest.warns(UserWarning, match="set in a .env or .env.local file was ignored"):
            request = await create_once(daytona, DaytonaBackend())  # and the SDK says so
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert sent_early(request)  # it went to the environment's endpoint, LocalDaytona
