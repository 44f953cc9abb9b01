"""Small units of the notebook support: interpolation, option parsing, variables, runner, view."""

from __future__ import annotations

import _thread
import asyncio
import itertools
import threading
import time

import pytest

from rho_agent.errors import ConfigError
from rho_agent.events import (
    ModelCall,
    ModelRetry,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from rho_agent.frontend import Runner, no_math
from rho_agent.model import Usage
from rho_agent.notebook.args import cell_parser, parse_cell_line, parse_line
from rho_agent.notebook.interpolate import interpolate
from rho_agent.notebook.render import MAX_LIVE_LINES, RUN_MIME, LiveDisplay, RunView
from rho_agent.notebook.variables import ship

# ------------------------------------------------------------------ interpolation


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("{name}", "sales"),
        ('{"a": 1} and {}', '{"a": 1} and {}'),
        ("{missing} {name.attr} {n[0]} { name }", "{missing} {name.attr} {n[0]} { name }"),
        (
            "`{name}` and ```\nf'{name}'\n``` then {name}",
            "`{name}` and ```\nf'{name}'\n``` then sales",
        ),
        ("{{name}} {{missing}}", "{name} {{missing}}"),
        ("{_private}", "{_private}"),
        ("def f(): return {name: 1}", "def f(): return {name: 1}"),
    ],
)
def test_interpolation_touches_only_defined_names(prompt: str, expected: str) -> None:
    assert interpolate(prompt, {"name": "sales", "_private": 1}) == expected


# ------------------------------------------------------------------ options


def test_cli_and_cell_options_come_from_one_table() -> None:
    import typer

    from rho_agent.cli.app import app
    from rho_agent.frontend import option_table

    command = typer.main.get_command(app).commands["main"]
    cli = {p.name: p for p in command.params}
    cell = {a.dest: a for a in cell_parser()._actions}
    table = option_table()
    assert {"profile", "backend", "yes", "upload", "image", "keep"} <= {o.name for o in table}
    for option in table:  # one definition: the same flags and help on both front ends
        assert (
            tuple(cli[option.name].opts) == option.flags == tuple(cell[option.name].option_strings)
        )
        assert cli[option.name].help == option.help == cell[option.name].help
    assert cell["yes"].option_strings == ["--yes", "-y"]


def test_cell_line_parses_to_a_typed_object() -> None:
    args = parse_cell_line(
        "--backend daytona -y --max-cost 0.5 --upload 'my data.csv:data.csv' --var df --var meta --background"
    )
    assert args.agent == {"backend": "daytona", "yes": True, "max_cost": 0.5}
    assert (
        args.upload == ("my data.csv:data.csv",) and args.vars == ("df", "meta") and args.background
    )
    for bad, message in [
        ("--max-turns 0", "must be at least 1"),
        ("--max-turns x", "expected an integer"),
        ("--out 1x", "not a valid Python variable name"),
        ("--prof readonly", "unrecognized arguments"),
        ("--session 'unclosed", "check its quotes"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_cell_line(bad)


def test_line_commands_parse_to_typed_objects() -> None:
    assert parse_line("download out/chart.png").remote == "out/chart.png"
    assert parse_line("sandboxes cleanup").action == "cleanup"
    assert parse_line("config --backend daytona --profile developer").agent == {
        "backend": "daytona",
        "profile": "developer",
    }
    assert "status" in parse_line("").text  # help


# ------------------------------------------------------------------ variables


def test_variables_become_files() -> None:
    assert (
        ship("s", {"s": "héllo"}).filename == "s.txt"
        and ship("s", {"s": "héllo"}).data == "héllo".encode()
    )
    assert ship("b", {"b": b"\x00\x01"}).filename == "b.bin"
    assert ship("j", {"j": [1, {"a": None}]}).data.startswith(b"[")
    with pytest.raises(ConfigError, match="a set cannot be shipped"):
        ship("bad", {"bad": {1, 2}})
    with pytest.raises(ConfigError, match="no variable named"):
        ship("nope", {})


def test_dataframe_without_pyarrow_is_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import fails
    shipped = ship("df", {"df": pd.DataFrame({"a": [1, 2]})})
    assert (
        shipped.filename == "df.csv"
        and shipped.data == b"a\n1\n2\n"
        and "CSV" in shipped.description
    )


# ------------------------------------------------------------------ runner


def test_job_result_exception_and_main_thread_requests() -> None:
    runner = Runner()
    try:
        assert runner.run(asyncio.sleep(0, "x")) == "x"

        async def fail() -> None:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            runner.run(fail())

        async def ask(job) -> str:
            return await job.on_main_thread(lambda: threading.current_thread().name)

        assert runner.submit(ask).wait() == threading.current_thread().name
    finally:
        runner.stop()


def test_interrupt_while_waiting_cancels_and_waits_for_cleanup() -> None:
    runner = Runner()
    cleaned = threading.Event()

    async def work() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.2)  # cleanup takes a moment (deleting a sandbox)
            cleaned.set()

    job = runner.submit(work())
    threading.Timer(0.2, _thread.interrupt_main).start()  # what a kernel interrupt does
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            job.wait()
        assert cleaned.is_set() and job.cancelled()
        assert time.monotonic() - started < 5
    finally:
        runner.stop()


def test_jobs_run_in_the_submitting_context() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    runner = Runner()
    try:
        var.set("cell 7")

        async def read() -> str:
            return var.get()

        assert runner.run(read()) == "cell 7"
    finally:
        runner.stop()


# ------------------------------------------------------------------ the view


def _call(n: int) -> ModelCall:
    return ModelCall(
        model="m",
        stop_reason="tool_use",
        usage=Usage(input_tokens=n, output_tokens=1),
        cost_usd=0.001,
        duration_s=0.1,
    )


def test_run_view_shows_text_tools_tokens_and_caps_long_output() -> None:
    view = RunView("p", trace_path="/x/trace.jsonl")
    view.on_event(TextDelta(text="lost"))
    view.on_event(ModelRetry(attempt=1, error="overloaded", delay_s=0.5))
    view.on_event(TextDelta(text="Looking."))
    view.on_event(_call(100))
    for i in range(MAX_LIVE_LINES + 5):
        view.on_event(ToolCallStarted(id=f"t{i}", name="bash", input={"command": f"echo {i}"}))
        view.on_event(
            ToolCallFinished(id=f"t{i}", name="bash", output="x", is_error=i == 0, duration_s=0.01)
        )
    view.on_event(TextDelta(text="y" * 10_000))
    live = view.live_html()
    assert "lost" not in view.text and "Looking." in view.text
    assert "6 earlier line(s) — full trace: /x/trace.jsonl" in live
    assert "characters above" in live and len(live) < 6000
    assert "✓ bash: echo 16" in live and "100 in / 1 out tokens · $0.0010" in live
    view.on_event(
        RunFinished(
            status="completed", text="**Done**", usage=Usage(input_tokens=5), cost_usd=0.01, turns=2
        )
    )
    assert view.answer_bundle()["text/markdown"] == no_math("**Done**")
    log = view.log_bundle()
    assert set(log) == {RUN_MIME, "text/markdown", "text/plain"}
    markdown = log["text/markdown"]
    assert "17 tool call(s)" in markdown and "- `✗ bash: echo 0" in markdown
    assert "trace: `/x/trace.jsonl`" in markdown


async def test_live_display_updates_at_most_ten_times_a_second() -> None:
    updates: list[float] = []
    live = LiveDisplay(RunView(), lambda bundle: updates.append(time.monotonic()))
    live.start()
    started = time.monotonic()
    while time.monotonic() - started < 1.0:  # a burst: thousands of deltas
        live.on_event(TextDelta(text="x"))
        await asyncio.sleep(0)
    await live.stop()
    assert 3 <= len(updates) <= 11
    gaps = [b - a for a, b in itertools.pairwise(updates)]
    assert min(gaps) >= 0.09


# ------------------------------------------------------------------ markdown


def test_markdown_answers_escape_math_and_html_outside_code() -> None:
    from rho_agent.frontend import escape_markdown

    assert escape_markdown("from $120 to $144") == r"from \$120 to \$144"
    assert escape_markdown("use a <div>, 3 < 4") == "use a &lt;div>, 3 < 4"
    assert escape_markdown(r"TeX \(x\)") == r"TeX \\(x\\)"
    code = "`a $x` and\n```sh\necho $HOME <in\n```\n$y"
    assert escape_markdown(code) == "`a $x` and\n```sh\necho $HOME <in\n```\n\\$y"
    assert escape_markdown(r"already \$5") == r"already \$5"


def test_answer_and_stop_message_have_no_math() -> None:
    from rho_agent.events import RunFinished
    from rho_agent.model import Usage

    view = RunView("p")
    view.on_event(
        RunFinished(
            status="max_cost",
            text="Prices went from $120 to $144.",
            usage=Usage(),
            cost_usd=0.0006,
            turns=1,
            error="Stopped: cost $0.0006 reached the limit of $0.0005.",
        )
    )
    bundle = view.answer_bundle()
    assert "$120" not in bundle["text/markdown"].replace(r"\$", "")
    assert r"\$0.0006" in bundle["text/markdown"] and r"\$120" in bundle["text/markdown"]
    assert "from $120 to $144" in bundle["text/plain"]  # plain text stays as written


def test_a_stopped_run_shows_nothing_still_running() -> None:
    from rho_agent.events import ToolCallStarted

    view = RunView("p")
    view.on_event(ToolCallStarted(id="t1", name="bash", input={"command": "sleep 60"}))
    assert view.tools["t1"].render().startswith("…")
    view.finish("cancelled")
    assert view.status == "cancelled" and view.tools["t1"].render().startswith("■")
    assert "⏳" not in view.live_html()


def test_a_relative_working_dir_is_kept_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_line("config --working-dir data").agent["working_dir"] == str(tmp_path / "data")
    assert parse_cell_line("-C ~/x").agent["working_dir"].endswith("/x")
