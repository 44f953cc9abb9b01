"""Tab completion for `%rho` and `%%rho` lines: subcommands, options and their values.

The candidates come from the same parsers that read the lines (`rho_agent.notebook.args`),
so a new option completes with no edit here. Values are completed where they are known:
backends (the registry), profiles (built in, and profile files), models (the price table),
session names (this kernel's), sandbox ids (this kernel's sandboxes, then your rho-agent
sandboxes on Daytona: asked at most every 30 s and for 3 s at most, so a Tab never hangs),
local paths (`--upload`, `%rho upload`, `--working-dir`).
"""

from __future__ import annotations

import argparse
import glob
import os
import shlex
import time
from collections.abc import Callable
from typing import Any

_PATH_OPTIONS = ("--upload", "--working-dir", "--dockerfile")
_PATH_COMMANDS = ("upload",)


def candidates(line: str) -> list[str]:
    """What may replace the last word of `line` (the text of a `%rho`/`%%rho` line up to the
    cursor, magic included). An empty list means: not ours, or nothing fits."""
    from rho_agent.notebook.args import cell_parser, line_parser, subparsers

    if line.startswith("%%rho"):
        parser, rest = cell_parser(), line[len("%%rho") :]
    elif line.startswith("%rho"):
        parser, rest = line_parser(), line[len("%rho") :]
    else:
        return []
    if rest and not rest[0].isspace():
        return []  # `%rhombus`
    words = _words(rest)
    current = "" if rest.endswith((" ", "\t")) or not words else words.pop()
    if parser is line_parser():
        sub = subparsers(parser)
        if not words:
            return _starting(current, sorted(sub))
        parser = sub.get(words[0])
        if parser is None:
            return []
        if words[0] in _PATH_COMMANDS and len(words) == 1 and not current.startswith("-"):
            return _paths(current)
    previous = words[-1] if words else ""
    action = _option(parser, previous)
    if action is not None and action.nargs != 0:
        return _values(action, current)
    if current.startswith("-") or not current:
        options = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
        return _starting(current, options)
    return []


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an open quote: complete what is there
        return text.split()


def _option(parser: argparse.ArgumentParser, word: str) -> argparse.Action | None:
    return next((a for a in parser._actions if word in a.option_strings), None)


def _values(action: argparse.Action, current: str) -> list[str]:
    flag = action.option_strings[-1] if action.option_strings else ""
    if flag in _PATH_OPTIONS:
        return _paths(current)
    known: Callable[[], list[str]] | None = _VALUES.get(action.dest)
    return _starting(current, known()) if known else []


def _starting(prefix: str, options: list[str]) -> list[str]:
    return [o for o in options if o.startswith(prefix)]


def _paths(current: str) -> list[str]:
    """Local files and directories (directories end with /) for a partial path."""
    local = current.partition(":")[0]
    found = sorted(glob.glob(os.path.expanduser(local) + "*"))[:200]
    return [f"{p}/" if os.path.isdir(p) else p for p in found]


def _backends() -> list[str]:
    from rho_agent.backends import backend_names

    return backend_names()


def _profiles() -> list[str]:
    from rho_agent.config import home_dir
    from rho_agent.permissions.profile import BUILTIN_PROFILES

    files = sorted(p.name for p in (home_dir() / "profiles").glob("*.toml"))
    return [*BUILTIN_PROFILES, *files]


def _models() -> list[str]:
    from rho_agent.model import known_models

    return known_models()


def _sessions() -> list[str]:
    from rho_agent.notebook.registry import DEFAULT_SESSION, get_registry

    return sorted({DEFAULT_SESSION, *get_registry().sessions})


#: Seconds a listing of Daytona sandboxes is reused, and the most a Tab waits for one.
SANDBOX_LIST_TTL = 30.0
SANDBOX_LIST_WAIT = 3.0


def _sandboxes() -> list[str]:
    from rho_agent.notebook.registry import get_registry

    registry = get_registry()
    mine = [
        sandbox.id
        for s in registry.sessions.values()
        if (sandbox := getattr(s.workspace, "sandbox", None)) is not None
    ]
    return list(dict.fromkeys([*mine, *_daytona_ids(registry)]))


def _daytona_ids(registry: Any) -> list[str]:
    """Ids of your rho-agent sandboxes on Daytona (newest listing at most 30 s old), or none
    when there is no SDK, no key, or no answer in time."""
    cached = registry.completion_cache.get("sandboxes")
    if cached is not None and time.monotonic() - cached[0] < SANDBOX_LIST_TTL:
        return cached[1]

    async def listing() -> list[str]:
        from rho_agent.backends.daytona import connect, rho_sandboxes

        client = await connect()
        try:
            return [box.id for box in await rho_sandboxes(client)]
        finally:
            await client.close()

    job = registry.runner.submit(listing())
    try:
        ids = job.wait(SANDBOX_LIST_WAIT)
    except Exception:  # no SDK or key, an API error, too slow: complete without them
        job.cancel()
        ids = []
    registry.completion_cache["sandboxes"] = (time.monotonic(), ids)
    return ids


_VALUES: dict[str, Callable[[], list[str]]] = {
    "backend": _backends,
    "profile": _profiles,
    "model": _models,
    "session": _sessions,
    "sandbox": _sandboxes,
}


def matcher(context: Any) -> dict[str, Any]:
    """An IPython (8.6+) context matcher: completes `%rho`/`%%rho` lines and suppresses the
    other matchers there (so `%rho st<Tab>` offers `status`, not `%store`)."""
    from IPython.core.completer import SimpleCompletion

    lines = context.full_text.split("\n")
    line = lines[min(context.cursor_line, len(lines) - 1)]
    before = line[: context.cursor_position]
    if not before.startswith(("%rho", "%%rho")) or (
        before.startswith("%%rho") and context.cursor_line != 0
    ):
        return {"completions": [], "suppress": False}
    # IPython replaces its own token, which may be only the end of our word (after a `:`).
    cut = len(_last_word(before)) - len(context.token)
    found = [c[cut:] for c in candidates(before)]
    return {"completions": [SimpleCompletion(text=c, type="rho") for c in found], "suppress": True}


def _last_word(line: str) -> str:
    return "" if line.endswith((" ", "\t")) else (line.split() or [""])[-1]


def install(ipython: Any) -> None:
    """Add the matcher to `ipython`'s completer (once)."""
    completer = ipython.Completer
    if any(getattr(m, "rho_agent", False) for m in completer.custom_matchers):
        return
    # What IPython's `context_matcher()` decorator sets (API v2: gets a CompletionContext);
    # set by hand because its Matcher protocol cannot describe attributes on a function.
    for name, value in (
        ("matcher_api_version", 2),
        ("matcher_priority", 0),
        ("matcher_identifier", "rho_agent"),
        ("rho_agent", True),
    ):
        setattr(matcher, name, value)
    completer.custom_matchers.append(matcher)


def uninstall(ipython: Any) -> None:
    completer = ipython.Completer
    completer.custom_matchers[:] = [
        m for m in completer.custom_matchers if not getattr(m, "rho_agent", False)
    ]
