"""Demo mode: the example notebooks without an API key.

`%rho demo` in a kernel without `ANTHROPIC_API_KEY` makes every agent of the kernel — `%%rho`
cells, `session().run()`, the Panel, the plain API in a cell — play `DEMO_MODEL`: a scripted
model (`rho_agent.testing.ScriptedModel`) that answers the example notebooks' own prompts with
prepared turns. Its tool calls really run, on the local backend: a cell that asks for a
Daytona sandbox gets a throwaway local folder instead. No request leaves the machine and
nothing is billed; every answer says it is the demo. `%rho login` (a key typed once, kept in
the kernel's memory) ends it.

The prepared turns are in `SCENES`, one per prompt, picked by a phrase of the prompt. The
tests run the same scenes through FakeAnthropic and the real SDK (normal mode).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rho_agent.testing import Reply, reply, text, tool_call

#: The demo model's name: shown on every run's status line.
DEMO_MODEL = "rho-demo (scripted, no API calls)"
#: What a prompt the scenes do not know gets.
UNKNOWN_PROMPT = (
    "This is rho-agent's **demo**: a scripted model that only knows the example notebooks' "
    "own prompts, so it cannot answer this one. Run `%rho login` and paste an Anthropic API "
    "key (kept in this kernel's memory only) to ask anything."
)

# Streamed in small pieces, so the demo shows text arriving as a real run does.
_STREAM = {"chunk": 24, "delay": 0.01}

#: A step: a reply, or a function of the last tool results' text that makes one.
Step = Reply | Callable[[list[str]], Reply]


@dataclass(frozen=True)
class Scene:
    """The turns that answer one prompt: `match` is a phrase of that prompt."""

    match: str
    steps: tuple[Step, ...]


ANALYZE = """\
import csv
from collections import defaultdict

totals = defaultdict(float)
with open("data/sales.csv") as f:
    for row in csv.DictReader(f):
        totals[row["region"]] += float(row["revenue"])
ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
with open("summary.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["region", "revenue"])
    writer.writerows((region, round(total, 1)) for region, total in ranked)
top = ranked[0][1]
bars = "".join(
    f'<rect x="{20 + i * 90}" y="{220 - 200 * v / top:.1f}" width="60" height="{200 * v / top:.1f}" fill="#4c72b0"/>'
    f'<text x="{50 + i * 90}" y="240" text-anchor="middle">{r}</text>'
    for i, (r, v) in enumerate(ranked)
)
with open("chart.svg", "w") as f:
    f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{40 + 90 * len(ranked)}" height="250">{bars}</svg>\\n')
for region, total in ranked:
    print(f"{region},{total:.1f}")
"""

GROWTH = """ls && python3 - <<'EOF'
import csv
rows = list(csv.DictReader(open("data/sales.csv")))
months = sorted({r["month"] for r in rows})
first = {r["region"]: float(r["revenue"]) for r in rows if r["month"] == months[0]}
last = {r["region"]: float(r["revenue"]) for r in rows if r["month"] == months[-1]}
growth = sorted(((g, first[g], last[g], round(last[g] - first[g], 1)) for g in first), key=lambda t: -t[3])
with open("growth.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["region", "first", "last", "growth"])
    writer.writerows(growth)
print(growth[0][0])
EOF"""

TOP_REGION = (
    "python3 -c \"import pandas as pd; d = pd.read_parquet('rho-vars/sales.parquet'); "
    "print(d.groupby('region').revenue.sum().idxmax())\""
)


def _totals(results: list[str]) -> Reply:
    rows = [line.split(",") for line in results[0].split() if "," in line]
    table = "\n".join(f"| {region} | {float(total):,.1f} |" for region, total in rows)
    leader, runner_up = rows[0][0], rows[1][0] if len(rows) > 1 else rows[0][0]
    return reply(
        text(
            f"Total revenue per region:\n\n| region | revenue |\n|---|---|\n{table}\n\n"
            f"**{leader}** leads, ahead of {runner_up}; the chart is in `chart.svg`, the table "
            "in `summary.csv`."
        ),
        **_STREAM,
    )


SCENES: tuple[Scene, ...] = (
    # notebooks/00-start-here.ipynb and 02-data-analysis-daytona.ipynb
    Scene(
        "compute the total revenue per region",
        (
            reply(
                text("I'll write a small script that totals the revenue and draws the chart."),
                tool_call("write", {"path": "analyze.py", "content": ANALYZE}),
                **_STREAM,
            ),
            reply(tool_call("bash", {"command": "python3 analyze.py"})),
            _totals,
        ),
    ),
    Scene(
        "grew the most between the first and the last month",
        (
            reply(tool_call("bash", {"command": GROWTH})),
            lambda results: reply(
                text(f"**{results[0].split()[-1]}** grew the most; see `growth.csv`."), **_STREAM
            ),
        ),
    ),
    # notebooks/01-quickstart.ipynb
    Scene(
        'Create hello.py that prints "hello from rho-agent"',
        (
            reply(
                text("Creating it."),
                tool_call(
                    "write", {"path": "hello.py", "content": 'print("hello from rho-agent")\n'}
                ),
                **_STREAM,
            ),
            reply(tool_call("bash", {"command": "python3 hello.py"})),
            lambda results: reply(text(f"It printed `{results[0].strip()}`."), **_STREAM),
        ),
    ),
    Scene(
        "change hello.py so it also prints the number 42",
        (
            reply(
                tool_call(
                    "edit",
                    {
                        "path": "hello.py",
                        "old_string": 'rho-agent")',
                        "new_string": 'rho-agent")\nprint(42)',
                    },
                )
            ),
            reply(tool_call("bash", {"command": "python3 hello.py"})),
            reply(text("Now it prints the greeting and **42**."), **_STREAM),
        ),
    ),
    Scene(
        "has the highest total revenue",
        (
            reply(tool_call("bash", {"command": TOP_REGION})),
            lambda results: reply(text(json.dumps({"region": results[0].strip()}))),
        ),
    ),
    Scene(
        "what did we do so far",
        (reply(text("We wrote hello.py, extended it, and found the top region."), **_STREAM),),
    ),
    Scene(
        "List the files in the working directory",
        (
            reply(tool_call("list", {})),
            lambda results: reply(text(f"Files:\n{results[0]}")),
        ),
    ),
    # notebooks/03-panel-tour.ipynb
    Scene(
        "Read notes.txt and write todo.md",
        (
            reply(text("Reading the notes."), tool_call("read", {"path": "notes.txt"}), **_STREAM),
            reply(
                tool_call(
                    "write",
                    {"path": "todo.md", "content": "- [ ] buy milk\n- [ ] write the report\n"},
                )
            ),
            reply(text("Wrote **todo.md** with 2 items."), **_STREAM),
        ),
    ),
)


def demo_reply(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Reply:
    """The demo model's next turn for a conversation (`ScriptedModel(function=...)`'s form):
    the scene of the prompt being answered, at the step after the turns it already took."""
    prompt, taken, results = _progress(messages)
    scene = next((s for s in SCENES if s.match.lower() in prompt.lower()), None)
    if scene is None or taken >= len(scene.steps):
        return reply(text(UNKNOWN_PROMPT))
    step = scene.steps[taken]
    return step(results) if callable(step) else step


def _progress(messages: list[dict[str, Any]]) -> tuple[str, int, list[str]]:
    """The prompt being answered (the last user message with text), how many model turns
    answered it so far, and the text of the tool results of the last user message."""
    prompt, taken = "", 0
    for message in messages:
        if message["role"] == "assistant":
            taken += 1
            continue
        texts = [b.get("text", "") for b in message["content"] if b.get("type") == "text"]
        if texts:
            prompt, taken = "\n".join(texts), 0
    last = messages[-1]["content"] if messages and messages[-1]["role"] == "user" else []
    results = [_result_text(b) for b in last if b.get("type") == "tool_result"]
    return prompt, taken, results


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or [] if b.get("type") == "text")


def demo_model() -> Any:
    """A new demo model (a `ScriptedModel` answering with `demo_reply`; it costs nothing)."""
    from rho_agent.model import FREE
    from rho_agent.testing import ScriptedModel

    return ScriptedModel(function=demo_reply, name=DEMO_MODEL, price=FREE)


# ------------------------------------------------------------------ the kernel's demo mode


def has_key(registry: Any) -> bool:
    """Whether this kernel's agents can call the API: a key in the environment or logged in."""
    import os

    return bool(os.environ.get("ANTHROPIC_API_KEY") or registry.api_key)


def start(registry: Any) -> str:
    """`%rho demo`: the demo model for every agent of the kernel, unless it has a key. Sessions
    open with another model end (their conversation could not continue). Returns the line to
    show."""
    import tempfile

    from rho_agent.agent import override_model

    if has_key(registry):
        return (
            "rho-agent: an Anthropic API key is set, so this notebook runs for real: each run "
            "calls the API and is billed (`%rho status` shows the cost so far)."
        )
    if registry.demo_dir is None:
        registry.reset_all()
        registry.demo_dir = tempfile.mkdtemp(prefix="rho-demo-")
        override_model(demo_model())
    return (
        "rho-agent DEMO — no ANTHROPIC_API_KEY: a scripted model plays the agent (it knows this "
        "notebook's prompts; no API calls, $0) and its tools run in a throwaway folder, "
        f"{registry.demo_dir}. To run for real: `%rho login`, then run the notebook again."
    )


def stop(registry: Any) -> bool:
    """End the demo (its sessions end too); False if there was none."""
    from rho_agent.agent import override_model

    if registry.demo_dir is None:
        return False
    override_model(None)
    registry.reset_all()
    registry.demo_dir = None
    return True


def demo_settings(settings: dict[str, Any], demo_dir: str) -> tuple[dict[str, Any], str | None]:
    """A session's settings as the demo runs them: on the local backend, in `demo_dir` unless
    a local working dir was chosen; a remote backend's own options are dropped. Also the line
    that says so when a remote backend was asked for (else None)."""
    from rho_agent import config as cfg
    from rho_agent.frontend import split

    backend = settings.get("backend") or cfg.resolve_setting(
        None, "RHO_AGENT_BACKEND", cfg.load_user_config().backend, cfg.DEFAULT_BACKEND
    )
    given = split(settings)
    if backend == "local":
        return {**settings, "working_dir": settings.get("working_dir") or demo_dir}, None
    local = {**given.agent, **given.run, "backend": "local", "working_dir": demo_dir}
    return local, (
        f"rho-agent DEMO: --backend {backend} runs on the local backend in {demo_dir} "
        "(the demo creates no sandbox)."
    )
