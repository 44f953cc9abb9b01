"""Harness overhead per turn: a 200-turn scripted session against FakeAnthropic (no latency,
in its own process: a fake in this process would share the GIL with what is measured).

Baseline: the bare SDK replaying the very request bodies the session sent, against the
same scripted server, with no harness around it. Overhead per turn = (session time - baseline time) / turns. The
tool in each turn is `list` on a small directory (a real subprocess), timed separately so
the report shows the harness's own cost apart from the tool's.

    python bench/bench_overhead.py [--turns 200]

Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import anthropic

from rho_agent import Agent, AgentConfig, Session
from rho_agent.testing.fake_anthropic import reply, text, tool_call

sys.path.insert(0, str(Path(__file__).parent))
from _servers import AnthropicProcess


def script(turns: int) -> list:
    steps = [reply(text(f"step {i}"), tool_call("list", {"path": "."})) for i in range(turns - 1)]
    return [*steps, reply(text("done"))]


async def baseline(turns: int, bodies: list[dict]) -> float:
    """The SDK alone, replaying the exact request bodies the session sent, no harness around it."""
    with AnthropicProcess(script(turns)) as fake:
        base_url = fake.env["ANTHROPIC_BASE_URL"]
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="test-key", max_retries=0)
        started = time.perf_counter()
        for body in bodies:
            async with client.messages.stream(
                **{k: v for k, v in body.items() if k != "stream"}
            ) as s:
                await s.get_final_message()
        elapsed = time.perf_counter() - started
        await client.close()
        return elapsed


async def harness(
    turns: int, workdir: str, *, trace_memory: bool = False
) -> tuple[float, float, int, list[dict]]:
    """The full session: (elapsed, time inside tools, peak traced memory in bytes, request bodies).

    Memory tracing slows Python down, so it runs only in a separate pass.
    """
    tool_time = 0.0

    def on_event(event) -> None:
        nonlocal tool_time
        if event.type == "tool_finished":
            tool_time += event.duration_s

    with AnthropicProcess(script(turns)) as fake:
        agent = Agent(
            AgentConfig(
                base_url=fake.env["ANTHROPIC_BASE_URL"],
                api_key="test-key",
                working_dir=workdir,
                profile="developer",
                max_turns=turns + 1,
            )
        )
        if trace_memory:
            tracemalloc.start()
        started = time.perf_counter()
        async with Session(agent, on_event=on_event) as session:
            result = await session.run("go")
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
        tracemalloc.stop()
        assert result.status == "completed", result
        return elapsed, tool_time, peak, [body for _, _, body in fake.requests]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as work:
        os.environ["RHO_AGENT_HOME"] = home
        for name in ("a.txt", "b.txt"):
            Path(work, name).write_text("x\n")
        total, tools, _, bodies = asyncio.run(harness(args.turns, work))
        base = asyncio.run(baseline(args.turns, bodies))
        _, _, peak, _ = asyncio.run(harness(args.turns, work, trace_memory=True))
    own = total - tools
    print(f"turns:                         {args.turns}")
    print(f"baseline (bare SDK):           {base:.3f} s  ({base / args.turns * 1000:.2f} ms/turn)")
    print(
        f"rho-agent session:             {total:.3f} s  ({total / args.turns * 1000:.2f} ms/turn)"
    )
    print(
        f"  of which in tools:           {tools:.3f} s  ({tools / args.turns * 1000:.2f} ms/turn)"
    )
    print(f"harness overhead per turn:     {(own - base) / args.turns * 1000:.2f} ms")
    print(f"ratio session-without-tools / baseline: {own / base:.2f}x")
    print(f"peak traced memory (session, the fake is elsewhere): {peak / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
