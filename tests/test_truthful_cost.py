"""Truthful cost and retries: unknown models are priced (and said so), one retry policy whose
attempt count is the number of requests, and a broken stream's text is void."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from _fixtures import run_cli

from rho_agent import Agent, AgentConfig, Session
from rho_agent.cli.render import TextRenderer, format_usage
from rho_agent.errors import ConfigError
from rho_agent.events import Event, ModelRetry, Notice, RunFinished
from rho_agent.model import FALLBACK_PRICE, Usage, price_for, resolve_price
from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, tool_call

LOCAL = "my-local-model"


def agent_for(fake: FakeAnthropic, project: Path, **config) -> Agent:
    config.setdefault("profile", "developer")
    config.setdefault("auto_approve", True)
    return Agent(
        AgentConfig(base_url=fake.base_url, api_key="test-key", working_dir=str(project), **config)
    )


def write_config(home: Path, body: str) -> None:
    (home / "config.toml").write_text(body)


# ------------------------------------------------------------------ the price table


@pytest.mark.parametrize(
    ("model", "output_price"),
    [
        ("claude-opus-4-1", 75.0),
        ("claude-opus-4-1-20250805", 75.0),
        ("claude-opus-4-0", 75.0),
        ("claude-opus-4-20250514", 75.0),
        ("claude-sonnet-4-0", 15.0),
        ("claude-sonnet-4-20250514", 15.0),
        ("claude-3-7-sonnet-20250219", 15.0),
        ("claude-3-7-sonnet-latest", 15.0),
        ("claude-3-5-haiku-20241022", 4.0),
        ("claude-haiku-4-5-20251001", 5.0),
    ],
)
def test_real_model_ids_and_dated_snapshots_are_priced(model: str, output_price: float) -> None:
    prices = price_for(model)
    assert prices is not None and prices[3] == output_price


def test_a_new_version_is_unknown_not_priced_as_its_family() -> None:
    assert price_for("claude-opus-4-9") is None  # not "claude-opus-4" + anything
    price = resolve_price("claude-opus-4-9")
    assert price.estimated and price == FALLBACK_PRICE
    # The fallback is the highest known price, so a cost limit errs on stopping early.
    assert (FALLBACK_PRICE.input, FALLBACK_PRICE.output) == (15.0, 75.0)  # as Claude Opus 4.1
    assert Usage(output_tokens=1_000_000).cost_usd("claude-opus-4-9") == FALLBACK_PRICE.output


# ------------------------------------------------------------------ unknown models


async def test_unknown_model_warns_once_is_estimated_and_max_cost_stops_it(
    project: Path,
) -> None:
    script = [reply(tool_call("bash", {"command": "echo step"})) for _ in range(5)]
    events: list[Event] = []
    with FakeAnthropic(script) as fake:
        agent = agent_for(fake, project, model=LOCAL, max_cost_usd=0.001)
        async with Session(agent, on_event=events.append) as session:
            first = await session.run("loop forever")
            second = await session.run("again")
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1, "one warning a session"
    assert LOCAL in notices[0].message and "[prices." in notices[0].message
    assert first.status == "max_cost" and len(fake.requests) <= 2
    assert first.cost_estimated and first.cost_usd > 0
    assert "estimated" in (first.error or "")
    assert second.cost_estimated
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert all(f.cost_estimated for f in finished)
    assert all(e.cost_estimated for e in events if e.type == "model_call")
    line = format_usage(finished[0], LOCAL)
    assert re.search(r"~\$\d+\.\d{4} \(estimated: unknown model 'my-local-model'\)", line)


async def test_a_price_in_config_toml_is_used_and_zero_is_honest(
    project: Path, rho_home: Path
) -> None:
    write_config(rho_home, f'[prices."{LOCAL}"]\ninput = 0.0\noutput = 0.0\n')
    script = [reply(tool_call("bash", {"command": "echo step"})), reply(text("done"))]
    events: list[Event] = []
    with FakeAnthropic(script) as fake:
        agent = agent_for(fake, project, model=LOCAL, max_cost_usd=0.0001)
        async with Session(agent, on_event=events.append) as session:
            result = await session.run("go")
        fake.assert_done()
    assert result.status == "completed" and result.cost_usd == 0.0
    assert not result.cost_estimated
    assert not [e for e in events if isinstance(e, Notice)]
    assert "~" not in format_usage(next(e for e in events if isinstance(e, RunFinished)))

    write_config(rho_home, f'[prices."{LOCAL}"]\ninput = 2.0\noutput = 10.0\n')
    price = Agent(AgentConfig(working_dir=str(project)), model=LOCAL).price
    assert (price.input, price.output, price.cache_write, price.cache_read) == (2, 10, 2.5, 0.2)
    assert not price.estimated

    write_config(rho_home, f'[prices."{LOCAL}"]\ninput = 1.0\noutptu = 1.0\n')
    with pytest.raises(ConfigError, match="outptu"):
        Agent(AgentConfig(working_dir=str(project)), model=LOCAL)


def test_cli_marks_an_estimated_cost(project: Path) -> None:
    with FakeAnthropic([reply(text("hi"))]) as fake:
        proc = run_cli(
            "main", "--model", LOCAL, "--working-dir", str(project), "hello", env=fake.env()
        )
    assert proc.returncode == 0, proc.stderr
    assert f"No price known for model '{LOCAL}'" in proc.stderr
    assert f"(estimated: unknown model '{LOCAL}')" in proc.stderr


# ------------------------------------------------------------------ one retry policy


@pytest.mark.parametrize("failure", [fault.overloaded, fault.server_error])
async def test_a_permanent_server_error_reports_the_requests_it_made(
    project: Path, failure
) -> None:
    events: list[Event] = []
    with FakeAnthropic([failure(times=None)]) as fake:
        async with Session(agent_for(fake, project), on_event=events.append) as session:
            result = await session.run("go")
    assert result.status == "error"
    attempts = int(re.search(r"after (\d+) attempt", result.error or "")[1])  # type: ignore[index]
    assert attempts == len(fake.requests) <= 5
    retries = [e for e in events if isinstance(e, ModelRetry)]
    # Every retry the user waits on is announced, with its delay (here the server's retry-after).
    assert [r.attempt for r in retries] == list(range(1, attempts))
    assert all(0 < r.delay_s < 1 for r in retries)


# ------------------------------------------------------------------ a broken stream is void


BROKEN_THEN_FINE = [
    fault.stream_error(after_events=4, partial=reply(text("Partial answer that breaks"))),
    reply(text("The whole answer.")),
]


async def test_terminal_says_the_partial_answer_is_discarded(project: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = TextRenderer(out=out, err=err)
    with FakeAnthropic(BROKEN_THEN_FINE) as fake:
        async with Session(agent_for(fake, project), on_event=renderer) as session:
            result = await session.run("go")
        fake.assert_done()
    assert result.text == "The whole answer."
    assert "Partial" in out.getvalue()  # streamed before the break; it cannot be unprinted
    assert out.getvalue().rstrip().endswith("The whole answer.")
    assert "partial answer above is discarded" in err.getvalue()
    assert renderer.state.text.strip() == "The whole answer."


def test_json_output_has_only_the_successful_attempt(project: Path) -> None:
    with FakeAnthropic(BROKEN_THEN_FINE) as fake:
        proc = run_cli(
            "main",
            "--output-format",
            "json",
            "--working-dir",
            str(project),
            "go",
            env=fake.env(),
        )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["text"] == "The whole answer."
    assert "Partial" not in proc.stdout
    assert "retrying" in proc.stderr


async def test_markdown_held_back_from_a_broken_stream_is_dropped_unprinted(
    project: Path,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = TextRenderer(out=out, err=err, markdown=True)
    with FakeAnthropic(BROKEN_THEN_FINE) as fake:
        async with Session(agent_for(fake, project), on_event=renderer) as session:
            await session.run("go")
    assert "Partial" not in out.getvalue() and "The whole answer." in out.getvalue()
    assert "retrying" in err.getvalue() and "discarded" not in err.getvalue()
