"""Time to the first tool result: sandbox provisioning overlapped with the first model call
(what rho-agent does) against provisioning at the first tool call (serial).

LocalDaytona takes 2 s to create a sandbox; FakeAnthropic takes 1.5 s to start answering the
first model call, which asks for `bash`. Measured from `Session.start()` to the first
`tool_finished` event; the SDKs are imported beforehand (a one-off cost either way).

    python bench/bench_first_tool.py [--create 2.0] [--model 1.5] [--repeat 3]

Prints the median of each and the ratio; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from rho_agent import Agent, AgentConfig, Session
from rho_agent.backends.daytona import DaytonaWorkspace, _config
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, tool_call


class SerialWorkspace(DaytonaWorkspace):
    """Provisioning starts at the first tool call instead of at session start."""

    def start(self) -> None:
        pass

    async def ready(self) -> None:
        if self._task is not None:
            await super().ready()

    async def exec(self, *args, **kwargs):  # type: ignore[override]
        if self._task is None:
            DaytonaWorkspace.start(self)
        return await super().exec(*args, **kwargs)


async def first_tool(server: LocalDaytona, model_s: float) -> float:
    script = [
        fault.slow_first_byte(model_s, then=reply(tool_call("bash", {"command": "echo first"}))),
        reply(text("ok")),
    ]
    with FakeAnthropic(script) as fake:
        agent = Agent(
            AgentConfig(base_url=fake.base_url, api_key="k", backend="daytona", profile="developer")
        )
        done = asyncio.get_running_loop().create_future()

        def on_event(event) -> None:
            if event.type == "tool_finished" and not done.done():
                done.set_result(time.perf_counter())

        started = time.perf_counter()
        async with Session(agent, on_event=on_event, persist=False) as session:
            await session.run("go")
        return done.result() - started


async def main(args: argparse.Namespace) -> None:
    import anthropic  # noqa: F401  (one-off imports, outside the measurement)
    from daytona import AsyncDaytona  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp, LocalDaytona(create_delay=args.create) as server:
        os.environ.update(server.env())
        os.environ["RHO_AGENT_HOME"] = str(Path(tmp) / "home")
        results: dict[str, list[float]] = {"overlapped": [], "serial": []}
        for _ in range(args.repeat):
            for mode in results:
                # DaytonaBackend.open() makes the workspace class its module names.
                _config.DaytonaWorkspace = SerialWorkspace if mode == "serial" else DaytonaWorkspace
                try:
                    results[mode].append(await first_tool(server, args.model))
                finally:
                    _config.DaytonaWorkspace = DaytonaWorkspace
    over, serial = (statistics.median(results[m]) for m in ("overlapped", "serial"))
    print(
        f"sandbox creation {args.create:g} s, first model call {args.model:g} s, median of {args.repeat}"
    )
    runs = {m: ", ".join(f"{x:.2f}" for x in results[m]) for m in results}
    print(
        f"overlapped (provisioning at session start): {over:5.2f} s  (runs: {runs['overlapped']})"
    )
    print(f"serial (provisioning at first tool call):   {serial:5.2f} s  (runs: {runs['serial']})")
    print(f"ratio (serial / overlapped): {serial / over:.2f}x, {serial - over:.2f} s saved")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--create", type=float, default=2.0)
    parser.add_argument("--model", type=float, default=1.5)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
