"""The workspace tools through `Tool.__call__`, on a real LocalWorkspace in a tmp dir."""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from test_local_workspace import alive, gone

from rho_agent.backends import ExecResult, LocalWorkspace
from rho_agent.permissions.profile import (
    DEVELOPER,
    READONLY,
    UNRESTRICTED,
    FileWriteMode,
    Profile,
    ShellMode,
)
from rho_agent.tools import (
    BashTool,
    EditTool,
    GlobTool,
    GrepTool,
    ListTool,
    ReadTool,
    Tool,
    ToolContext,
    ToolResult,
    WriteTool,
    build_tools,
    register_tool,
)
from rho_agent.tools._base import MAX_OUTPUT_CHARS
from rho_agent.tools._registry import read_only_names

CREATE_ONLY = Profile(name="create-only", shell=ShellMode.off, file_write=FileWriteMode.create_only)


async def call(tool: Tool, ctx: ToolContext, **raw: Any) -> ToolResult:
    return await tool(raw, ctx)


def with_profile(ctx: ToolContext, profile: Profile) -> ToolContext:
    return ToolContext(workspace=ctx.workspace, profile=profile, env=ctx.env)


# --- bash ---------------------------------------------------------------------


async def test_bash_output_and_exit_code(ctx: ToolContext) -> None:
    ok = await call(BashTool(), ctx, command="echo hello; echo oops >&2")
    assert ok == ToolResult("hello\noops")
    failed = await call(BashTool(), ctx, command="echo partial; exit 3")
    assert failed == ToolResult("partial\n[exit code: 3]", is_error=True)
    assert await call(BashTool(), ctx, command="true") == ToolResult("(no output)")


async def test_bash_runs_in_working_dir(ctx: ToolContext, workdir: Path) -> None:
    assert (await call(BashTool(), ctx, command="pwd")).text == str(workdir)


async def test_bash_timeout_kills_the_process(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await call(BashTool(), ctx, command="sleep 60 & echo $!; wait", timeout=1)
    assert time.monotonic() - started < 10
    assert result.is_error
    assert result.text.endswith("[timed out after 1s; process killed]")
    assert await gone(int(result.text.split()[0]))


async def test_bash_cancel_kills_the_process(ctx: ToolContext, workdir: Path) -> None:
    pidfile = workdir / "pid"
    task = asyncio.create_task(
        call(BashTool(), ctx, command=f"sleep 60 & echo $! > {pidfile}; wait")
    )
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.05)
    pid = int(pidfile.read_text())
    assert alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await gone(pid)


async def test_bash_background_child_does_not_hang(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await call(BashTool(), ctx, command="sleep 100 & echo started")
    assert time.monotonic() - started < 10
    assert result == ToolResult("started")


async def test_bash_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("FOO_TOKEN", "foo-secret")
    monkeypatch.setenv("X_API_KEY", "x-secret")
    ctx = ToolContext(workspace=LocalWorkspace(workdir), profile=UNRESTRICTED, env={"MY_VAR": "1"})
    output = (await call(BashTool(), ctx, command="env")).text
    assert "secret" not in output
    assert "MY_VAR=1" in output

    passing = ToolContext(
        workspace=LocalWorkspace(workdir, passthrough_env=["FOO_TOKEN"]), profile=UNRESTRICTED
    )
    output = (await call(BashTool(), passing, command="env")).text
    assert "FOO_TOKEN=foo-secret" in output
    assert "sk-ant-secret" not in output
    assert "x-secret" not in output


async def test_bash_huge_output_is_truncated_with_head_tail_and_size(ctx: ToolContext) -> None:
    result = await call(BashTool(), ctx, command="seq 1 200000")
    full = "\n".join(str(i) for i in range(1, 200001))
    assert len(result.text) < MAX_OUTPUT_CHARS + 500
    assert result.text.startswith("1\n2\n3\n")
    assert result.text.endswith("\n199999\n200000")
    assert f"{len(full):,} chars / 200,000 lines in total" in result.text


async def test_bash_without_shell_is_denied(ctx: ToolContext, workdir: Path) -> None:
    result = await call(BashTool(), with_profile(ctx, CREATE_ONLY), command="touch made")
    assert result.is_error
    assert "no shell" in result.text
    assert not (workdir / "made").exists()


async def test_restricted_bash_denies_without_running(ctx: ToolContext, workdir: Path) -> None:
    policy = pytest.importorskip("rho_agent.permissions.shell_policy")
    restricted = with_profile(ctx, READONLY)
    command = "ls && touch made"
    verdict = policy.check_command(command)
    assert not verdict.allowed
    result = await call(BashTool(), restricted, command=command)
    assert result.is_error
    assert verdict.reason in result.text
    assert not (workdir / "made").exists()
    (workdir / "seen.txt").write_text("")
    assert (await call(BashTool(), restricted, command="ls")) == ToolResult("seen.txt")


async def test_bash_timeout_param_is_validated(ctx: ToolContext) -> None:
    result = await call(BashTool(), ctx, command="true", timeout=601)
    assert result.is_error
    assert result.text.startswith("Invalid input for bash: timeout")


# --- read ---------------------------------------------------------------------


async def test_read_numbers_lines_and_pages(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "big.txt").write_text("".join(f"l{i}\n" for i in range(1, 5313)))
    first = (await call(ReadTool(), ctx, path="big.txt")).text.split("\n")
    assert first[0] == "     1\tl1"
    assert first[1999] == "  2000\tl2000"
    assert first[-1] == "[lines 1-2000 of 5312; use offset=2001 to read more]"
    window = (await call(ReadTool(), ctx, path="big.txt", offset=2001, limit=3)).text
    assert window == (
        "  2001\tl2001\n  2002\tl2002\n  2003\tl2003\n"
        "[lines 2001-2003 of 5312; use offset=2004 to read more]"
    )
    end = (await call(ReadTool(), ctx, path="big.txt", offset=5311)).text
    assert end == "  5311\tl5311\n  5312\tl5312\n[lines 5311-5312 of 5312; end of file]"
    past = await call(ReadTool(), ctx, path="big.txt", offset=6000)
    assert past.is_error
    assert "5312 lines" in past.text


async def test_read_small_file_has_no_footer(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "a.py").write_text("x = 1\n\ny = 2")
    assert (
        await call(ReadTool(), ctx, path="a.py")
    ).text == "     1\tx = 1\n     2\t\n     3\ty = 2"
    (workdir / "empty").write_text("")
    assert "empty file" in (await call(ReadTool(), ctx, path="empty")).text


async def test_read_cuts_long_lines(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "long.txt").write_text("a" * 5000 + "\nshort\n")
    lines = (await call(ReadTool(), ctx, path="long.txt")).text.split("\n")
    assert lines[0] == "     1\t" + "a" * 2000 + " [... line cut: 5,000 chars in total]"
    assert lines[1] == "     2\tshort"


async def test_read_stops_at_the_output_budget(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "wide.txt").write_text(("w" * 1000 + "\n") * 100)
    result = await call(ReadTool(), ctx, path="wide.txt")
    assert len(result.text) <= MAX_OUTPUT_CHARS
    last = int(result.text.split("\n")[-2].split("\t")[0])
    assert result.text.endswith(f"[lines 1-{last} of 100; use offset={last + 1} to read more]")


async def test_read_refuses_binary(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 1000)
    result = await call(ReadTool(), ctx, path="img.png")
    assert result.is_error
    assert "1,008 bytes" in result.text
    assert "PNG image" in result.text
    (workdir / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    result = await call(ReadTool(), ctx, path="latin1.txt")
    assert result.is_error
    assert "not valid UTF-8" in result.text


async def test_read_missing_file_or_directory(ctx: ToolContext, workdir: Path) -> None:
    missing = await call(ReadTool(), ctx, path="nope.txt")
    assert missing.is_error
    assert f"File not found: {workdir}/nope.txt" in missing.text
    assert "list" in missing.text
    (workdir / "dir").mkdir()
    directory = await call(ReadTool(), ctx, path="dir")
    assert directory.is_error
    assert "is a directory" in directory.text


async def test_read_crlf_file(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "dos.txt").write_bytes(b"one\r\ntwo\r\n")
    text = (await call(ReadTool(), ctx, path="dos.txt")).text
    assert text == "     1\tone\n     2\ttwo\n[the file has CRLF line endings]"


# --- write --------------------------------------------------------------------


async def test_write_creates_and_overwrites(ctx: ToolContext, workdir: Path) -> None:
    created = await call(WriteTool(), ctx, path="pkg/mod.py", content="a = 1\nb = 2\n")
    assert created == ToolResult(f"Wrote 2 lines (12 bytes) to {workdir}/pkg/mod.py (new file).")
    assert (workdir / "pkg/mod.py").read_text() == "a = 1\nb = 2\n"
    again = await call(WriteTool(), ctx, path=str(workdir / "pkg/mod.py"), content="é")
    assert (
        again.text
        == f"Wrote 1 lines (2 bytes) to {workdir}/pkg/mod.py (overwrote the existing file)."
    )
    assert (workdir / "pkg/mod.py").read_text() == "é"


async def test_write_create_only_refuses_overwrite(ctx: ToolContext, workdir: Path) -> None:
    create_only = with_profile(ctx, CREATE_ONLY)
    assert not (await call(WriteTool(), create_only, path="new.txt", content="1")).is_error
    refused = await call(WriteTool(), create_only, path="new.txt", content="2")
    assert refused.is_error
    assert "already exists" in refused.text
    assert "only allows creating new files" in refused.text
    assert (workdir / "new.txt").read_text() == "1"


async def test_write_refused_without_file_write(ctx: ToolContext, workdir: Path) -> None:
    result = await call(WriteTool(), with_profile(ctx, READONLY), path="x.txt", content="1")
    assert result.is_error
    assert not (workdir / "x.txt").exists()


async def test_write_onto_a_directory(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "d").mkdir()
    result = await call(WriteTool(), ctx, path="d", content="1")
    assert result.is_error
    assert "is a directory" in result.text


# --- edit ---------------------------------------------------------------------

SOURCE = """def a():
    return 1


def b():
    return 1


def c():
    return 2
"""


async def test_edit_one_match(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "m.py").write_text(SOURCE)
    result = await call(
        EditTool(), ctx, path="m.py", old_string="    return 2", new_string="    return 3"
    )
    assert not result.is_error
    assert result.text.startswith(f"Edited {workdir}/m.py: replaced 1 occurrence (line 10).")
    assert "    10\t    return 3" in result.text
    assert "     9\tdef c():" in result.text
    assert (workdir / "m.py").read_text() == SOURCE.replace("return 2", "return 3")


async def test_edit_zero_matches(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "m.py").write_text(SOURCE)
    result = await call(EditTool(), ctx, path="m.py", old_string="return 42", new_string="x")
    assert result.is_error
    assert "not found" in result.text
    assert "whitespace" not in result.text


async def test_edit_whitespace_mismatch_is_named(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "m.py").write_text(SOURCE)
    result = await call(
        EditTool(), ctx, path="m.py", old_string="def c():\n  return 2", new_string="x"
    )
    assert result.is_error
    assert "indentation or whitespace differs" in result.text
    assert "line 9" in result.text
    assert (workdir / "m.py").read_text() == SOURCE


async def test_edit_several_matches(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "m.py").write_text(SOURCE)
    result = await call(EditTool(), ctx, path="m.py", old_string="return 1", new_string="return 0")
    assert result.is_error
    assert "occurs 2 times" in result.text
    assert "lines 2, 6" in result.text
    assert "replace_all" in result.text
    assert (workdir / "m.py").read_text() == SOURCE

    result = await call(
        EditTool(), ctx, path="m.py", old_string="return", new_string="yield", replace_all=True
    )
    assert result.text.startswith(
        f"Edited {workdir}/m.py: replaced 3 occurrences (lines 2, 6, 10)."
    )
    assert (workdir / "m.py").read_text() == SOURCE.replace("return", "yield")


async def test_edit_rejects_no_op_and_missing_file(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "m.py").write_text(SOURCE)
    same = await call(EditTool(), ctx, path="m.py", old_string="def a", new_string="def a")
    assert same.is_error
    assert "the same" in same.text
    missing = await call(EditTool(), ctx, path="nope.py", old_string="a", new_string="b")
    assert missing.is_error
    assert "File not found" in missing.text


async def test_edit_needs_full_file_write(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "m.py").write_text(SOURCE)
    result = await call(
        EditTool(),
        with_profile(ctx, CREATE_ONLY),
        path="m.py",
        old_string="def a",
        new_string="def z",
    )
    assert result.is_error
    assert (workdir / "m.py").read_text() == SOURCE


async def test_edit_crlf_file_with_lf_old_string(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "dos.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = await call(EditTool(), ctx, path="dos.txt", old_string="one\ntwo", new_string="1\n2")
    assert not result.is_error, result.text
    assert (workdir / "dos.txt").read_bytes() == b"1\r\n2\r\nthree\r\n"


# --- glob ---------------------------------------------------------------------


def make_tree(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


async def test_glob_double_star_newest_first_and_skips_noise(
    ctx: ToolContext, workdir: Path
) -> None:
    make_tree(workdir, {
        "top.py": "", "src/a.py": "", "src/deep/b.py": "", "src/c.txt": "",
        ".git/hooks/x.py": "", "node_modules/m/y.py": "", "src/__pycache__/z.py": "",
        ".venv/lib/v.py": "",
    })  # fmt: skip
    now = time.time()
    for age, rel in enumerate(["src/deep/b.py", "top.py", "src/a.py"]):
        os.utime(workdir / rel, (now - age * 100, now - age * 100))
    result = await call(GlobTool(), ctx, pattern="**/*.py")
    assert result.text == "src/deep/b.py\ntop.py\nsrc/a.py"
    assert (await call(GlobTool(), ctx, pattern="src/**/*.py")).text == "src/deep/b.py\nsrc/a.py"
    assert (await call(GlobTool(), ctx, pattern="*.py")).text == "top.py"
    both = (await call(GlobTool(), ctx, pattern="src/*.{py,txt}")).text.split("\n")
    assert sorted(both) == ["src/a.py", "src/c.txt"]
    within = await call(GlobTool(), ctx, pattern="*.py", path="src/deep")
    assert within.text == "src/deep/b.py"


async def test_glob_no_match_hints_at_double_star(ctx: ToolContext, workdir: Path) -> None:
    make_tree(workdir, {"src/a.py": ""})
    result = await call(GlobTool(), ctx, pattern="*.py")
    assert not result.is_error
    assert result.text.startswith("No files match '*.py' in the working directory.")
    assert "'**/*.py'" in result.text


async def test_glob_missing_path(ctx: ToolContext) -> None:
    result = await call(GlobTool(), ctx, pattern="*", path="nowhere")
    assert result.is_error
    assert "Directory not found" in result.text


async def test_glob_pattern_is_never_shell_or_flags(ctx: ToolContext, workdir: Path) -> None:
    make_tree(workdir, {"-rf.txt": "", "a.txt": ""})
    assert (await call(GlobTool(), ctx, pattern="-rf*")).text == "-rf.txt"
    for pattern in [
        "$(touch pwned)",
        "`touch pwned`",
        "*; touch pwned",
        "' -o -exec touch pwned ;",
    ]:
        result = await call(GlobTool(), ctx, pattern=pattern)
        assert result.text.startswith("No files match"), result.text
    result = await call(GlobTool(), ctx, pattern="*", path="$(touch pwned)")
    assert result.is_error
    assert not (workdir / "pwned").exists()


async def test_glob_caps_the_list(ctx: ToolContext, workdir: Path) -> None:
    make_tree(workdir, {f"f{i:03}.txt": "" for i in range(510)})
    lines = (await call(GlobTool(), ctx, pattern="*.txt")).text.split("\n")
    assert len(lines) == 501
    assert lines[-1].startswith("[... 10 more files")


# --- grep ---------------------------------------------------------------------

GREP_TREE = {
    "app.py": "import os\n\ndef main():\n    os.system('rm -rf /tmp/x')\n    return foo(123)\n",
    "lib/util.py": "def helper():\n    return 'Hello'\n# --pre=sh is not a flag here\n",
    "lib/notes.txt": "hello world\n$(touch pwned) stays text\n",
    "node_modules/pkg/index.js": "hello from node_modules\n",
    ".hidden/conf.py": "hello = True\n",
}


async def test_grep_content(ctx: ToolContext, workdir: Path) -> None:
    make_tree(workdir, GREP_TREE)
    result = await call(GrepTool(), ctx, pattern="hello", ignore_case=True)
    assert result.text == (
        ".hidden/conf.py:1:hello = True\n"
        "lib/notes.txt:1:hello world\n"
        "lib/util.py:2:    return 'Hello'"
    )
    only_case = await call(GrepTool(), ctx, pattern="hello")
    assert "Hello" not in only_case.text


async def test_grep_patterns_are_never_flags_or_shell(ctx: ToolContext, workdir: Path) -> None:
    make_tree(workdir, GREP_TREE)
    dash = await call(GrepTool(), ctx, pattern="-rf")
    assert dash.text == "app.py:4:    os.system('rm -rf /tmp/x')"
    pre = await call(GrepTool(), ctx, pattern="--pre=sh")
    assert pre.text == "lib/util.py:3:# --pre=sh is not a flag here"
    regex = await call(GrepTool(), ctx, pattern=r"foo\(\d+\)")
    assert regex.text == "app.py:5:    return foo(123)"
    subst = await call(GrepTool(), ctx, pattern="$(touch pwned)")  # `$` anchors: no match
    assert subst.text.startswith("No matches")
    literal = await call(GrepTool(), ctx, pattern=r"\$\(touch pwned\)")
    assert literal.text == "lib/notes.txt:2:$(touch pwned) stays text"
    for pattern in ["'; touch pwned; '", "`touch pwned`", 'x" ; touch pwned ; "']:
        await call(GrepTool(), ctx, pattern=pattern)
    await call(GrepTool(), ctx, pattern="x", path="$(touch pwned)")
    await call(GrepTool(), ctx, pattern="x", glob="$(touch pwned)")
    assert not (workdir / "pwned").exists()


async def test_grep_modes_glob_and_context(ctx: ToolContext, workdir: Path) -> None:
    make_tree(workdir, GREP_TREE)
    files = await call(GrepTool(), ctx, pattern="def|hello", output_mode="files")
    assert files.text == ".hidden/conf.py\napp.py\nlib/notes.txt\nlib/util.py"
    count = await call(GrepTool(), ctx, pattern="o", output_mode="count", glob="*.py")
    assert count.text == ".hidden/conf.py:1\napp.py:3\nlib/util.py:2"
    scoped = await call(GrepTool(), ctx, pattern="def", glob="lib/**/*.py")
    assert scoped.text == "lib/util.py:1:def helper():"
    not_py = await call(GrepTool(), ctx, pattern="hello", glob="!*.py", output_mode="files")
    assert not_py.text == "lib/notes.txt"
    not_lib = await call(GrepTool(), ctx, pattern="hello", glob="!lib/**", output_mode="files")
    assert not_lib.text == ".hidden/conf.py"
    context = await call(GrepTool(), ctx, pattern="system", context=1, path="app.py")
    assert context.text == (
        "app.py-3-def main():\napp.py:4:    os.system('rm -rf /tmp/x')\napp.py-5-    return foo(123)"
    )
    capped = await call(GrepTool(), ctx, pattern=".", path="app.py", max_results=2)
    assert capped.text.split("\n")[:2] == ["app.py:1:import os", "app.py:3:def main():"]
    assert "[... 2 more matching lines not shown" in capped.text


async def test_grep_no_match_and_errors(ctx: ToolContext, workdir: Path) -> None:
    make_tree(workdir, GREP_TREE)
    none = await call(GrepTool(), ctx, pattern="zebra")
    assert none == ToolResult("No matches for 'zebra' in the working directory.")
    bad = await call(GrepTool(), ctx, pattern="foo(")
    assert bad.is_error
    assert "grep failed" in bad.text
    missing = await call(GrepTool(), ctx, pattern="x", path="nope")
    assert missing.is_error
    assert "Path not found" in missing.text


async def test_grep_outside_working_dir_gives_absolute_paths(
    ctx: ToolContext, tmp_path: Path
) -> None:
    make_tree(tmp_path / "other", {"o.txt": "needle\n"})
    result = await call(GrepTool(), ctx, pattern="needle", path=str(tmp_path / "other"))
    assert result.text == f"{tmp_path}/other/o.txt:1:needle"


@pytest.fixture
def path_without_rg(tmp_path: Path) -> str:
    """A PATH directory with every command of the real PATH except rg (symlinks)."""
    bin_dir = tmp_path / "bin-no-rg"
    bin_dir.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target = os.path.join(directory, name)
            link = bin_dir / name
            if name != "rg" and not link.exists() and os.access(target, os.X_OK):
                link.symlink_to(target)
    return str(bin_dir)


async def test_grep_fallback_without_rg_gives_the_same_lines(
    ctx: ToolContext, workdir: Path, path_without_rg: str
) -> None:
    make_tree(workdir, GREP_TREE)
    (workdir / "bin.dat").write_bytes(b"hello\0binary")
    plain = ToolContext(
        workspace=LocalWorkspace(workdir, env={"PATH": path_without_rg}), profile=UNRESTRICTED
    )
    probe = await call(BashTool(), plain, command="command -v rg || echo no-rg")
    assert probe.text == "no-rg"
    cases: list[dict[str, Any]] = [
        {"pattern": "hello", "ignore_case": True},
        {"pattern": "-rf"},
        {"pattern": "--pre=sh"},
        {"pattern": r"foo\(\d+\)"},
        {"pattern": r"\$\(touch"},
        {"pattern": "def|hello", "output_mode": "files"},
        {"pattern": "o", "output_mode": "count", "glob": "*.py"},
        {"pattern": "return", "context": 1},
        {"pattern": "def", "glob": "lib/**/*.{py,txt}"},
        {"pattern": "e", "glob": "!*.py"},
        {"pattern": "hello", "glob": "!lib/**", "ignore_case": True},
        {"pattern": "zebra"},
    ]
    for case in cases:
        with_rg = await call(GrepTool(), ctx, **case)
        without = await call(GrepTool(), plain, **case)
        assert with_rg == without, case
    assert not (workdir / "pwned").exists()


# --- list ---------------------------------------------------------------------


async def test_list_depth_sizes_and_skipped_dirs(ctx: ToolContext, workdir: Path) -> None:
    make_tree(workdir, {
        "a/b/c/deep.txt": "x", "a/mid.txt": "12345", "top.txt": "x" * 2048,
        "node_modules/pkg/i.js": "", ".env.example": "",
    })  # fmt: skip
    (workdir / "link").symlink_to("top.txt")
    one = (await call(ListTool(), ctx, depth=1)).text
    assert one == (
        f"{workdir}/\n"
        "  a/\n"
        "  node_modules/  (skipped)\n"
        "  .env.example (0 B)\n"
        "  link -> top.txt\n"
        "  top.txt (2.0 KB)"
    )
    two = (await call(ListTool(), ctx, path="a", depth=2)).text
    assert two == f"{workdir}/a/\n  b/\n    c/\n  mid.txt (5 B)"
    deep = (await call(ListTool(), ctx, depth=4)).text
    assert "        deep.txt (1 B)" in deep
    assert "i.js" not in deep


async def test_list_file_missing_and_empty(ctx: ToolContext, workdir: Path) -> None:
    (workdir / "f.txt").write_text("abc")
    (workdir / "empty").mkdir()
    as_file = await call(ListTool(), ctx, path="f.txt")
    assert as_file.text == f"{workdir}/f.txt is a file, not a directory: {workdir}/f.txt (3 B)"
    missing = await call(ListTool(), ctx, path="nope")
    assert missing.is_error
    assert "Not found" in missing.text
    assert (
        await call(ListTool(), ctx, path="empty")
    ).text == f"{workdir}/empty/\n  (empty directory)"


# --- cost on a remote workspace -----------------------------------------------


class CountingWorkspace(LocalWorkspace):
    """A LocalWorkspace that counts its primitive calls (the round trips a remote one makes)."""

    calls = 0

    async def exec(self, command: str, **kwargs: Any) -> ExecResult:
        self.calls += 1
        return await super().exec(command, **kwargs)

    async def read_bytes(self, path: str, **kwargs: Any) -> bytes:
        self.calls += 1
        return await super().read_bytes(path, **kwargs)

    async def write_bytes(self, path: str, data: bytes) -> None:
        self.calls += 1
        await super().write_bytes(path, data)


@pytest.mark.parametrize(
    ("tool", "raw", "budget"),
    [
        (BashTool(), {"command": "ls"}, 1),
        (ReadTool(), {"path": "app.py"}, 1),
        (GlobTool(), {"pattern": "**/*.py"}, 1),
        (GrepTool(), {"pattern": "def", "glob": "lib/**/*.py"}, 1),
        (ListTool(), {"depth": 3}, 1),
        (WriteTool(), {"path": "app.py", "content": "x"}, 2),
        (EditTool(), {"path": "app.py", "old_string": "import os", "new_string": "import sys"}, 2),
    ],
    ids=lambda v: v.name if isinstance(v, Tool) else "",
)
async def test_workspace_calls_per_tool(
    tool: Tool, raw: dict[str, Any], budget: int, workdir: Path
) -> None:
    make_tree(workdir, GREP_TREE)
    ws = CountingWorkspace(workdir)
    result = await tool(raw, ToolContext(workspace=ws, profile=UNRESTRICTED))
    assert not result.is_error, result.text
    assert ws.calls == budget


# --- registry -----------------------------------------------------------------


def test_registry_offers_tools_by_profile() -> None:
    names = lambda profile, **kw: [t.name for t in build_tools(profile, **kw)]  # noqa: E731
    assert names(READONLY) == ["bash", "read", "glob", "grep", "list"]
    assert names(DEVELOPER) == ["bash", "read", "write", "edit", "glob", "grep", "list"]
    assert names(CREATE_ONLY) == ["read", "write", "glob", "grep", "list"]
    assert names(READONLY, databases={"db": "x.db"})[-3:] == [
        "sql_tables",
        "sql_describe",
        "sql_query",
    ]
    assert names(UNRESTRICTED) == names(UNRESTRICTED)  # deterministic


def test_registry_read_only_names_and_duplicates() -> None:
    tools = build_tools(UNRESTRICTED, databases={"db": "x.db"})
    assert read_only_names(tools) == {"read", "glob", "grep", "list", "sql_tables", "sql_describe"}
    with pytest.raises(ValueError, match="already registered"):
        register_tool(ReadTool)


def test_every_schema_describes_every_parameter() -> None:
    for tool in build_tools(UNRESTRICTED, databases={"db": "x.db"}):
        schema = tool.schema()
        assert re.fullmatch(r"[a-z_]+", schema["name"])
        assert schema["description"]
        for name, prop in schema["input_schema"]["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name}"
