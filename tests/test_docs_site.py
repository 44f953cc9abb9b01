"""The documentation site (docs/, Sphinx + MyST-NB) builds strictly and holds what it says.

The site is built once, into a temporary directory, exactly as `scripts/docs` builds it:
any warning fails the build. The checks below read the HTML and take what to expect from
the code itself (the classes' members, the CLI's option table, the built-in profiles, the
notebooks' saved outputs), so a page that falls behind the code fails here.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import inspect
import json
import re
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import rho_agent
from rho_agent import events
from rho_agent.frontend import option_table
from rho_agent.permissions.profile import BUILTIN_PROFILES, Profile

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# A cold build takes seconds; on a loaded machine, more than the suite's default timeout.
pytestmark = pytest.mark.timeout(900)


def sphinx_build(source: Path, out: Path, *, conf: Path = DOCS) -> subprocess.CompletedProcess[str]:
    """`scripts/docs`'s build: every page read afresh, any warning an error."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html"),
            *("-c", str(conf), "-d", str(out / ".doctrees"), str(source), str(out / "html")),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_scripts_docs_builds_the_same_way() -> None:
    script = (ROOT / "scripts" / "docs").read_text()
    assert "-m sphinx -E -W --keep-going -b html" in script
    assert "docs docs/_build/html" in script
    assert "docs/_build/" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = sphinx_build(DOCS, out)
    assert proc.returncode == 0, f"the docs build is not clean:\n{proc.stderr}{proc.stdout}"
    return out / "html"


class _Text(HTMLParser):
    """The visible text of a page (no tags, no scripts), whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_of(page: Path) -> str:
    parser = _Text()
    parser.feed(page.read_text())
    return " ".join(" ".join(parser.parts).split())


def documented(page: Path) -> set[str]:
    """The ids of the objects a page documents (`rho_agent.Session.run`, ...)."""
    return set(re.findall(r'<dt class="sig sig-object py" id="([^"]+)"', page.read_text()))


def public_members(cls: type) -> set[str]:
    """What the class itself defines for its users: fields, methods, properties."""
    if issubclass(cls, BaseModel):
        names = set(cls.model_fields)
    elif dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls) if f.init}
    else:
        names = set()
    for name, value in vars(cls).items():
        if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property)):
            names.add(name)
    return names


@pytest.mark.parametrize(
    ("page", "name"),
    [
        ("api/agent.html", "Agent"),
        ("api/config.html", "AgentConfig"),
        ("api/session.html", "Session"),
        ("api/session.html", "RunResult"),
        ("api/backends.html", "DaytonaBackend"),
        ("api/backends.html", "LocalBackend"),
        ("api/profile.html", "Profile"),
    ],
)
def test_api_page_documents_every_public_member(site: Path, page: str, name: str) -> None:
    cls = getattr(rho_agent, name)
    ids = documented(site / page)
    assert f"rho_agent.{name}" in ids
    missing = {m for m in public_members(cls) if f"rho_agent.{name}.{m}" not in ids}
    assert not missing, f"{page} lacks {sorted(missing)}: give them a docstring or `#:` comment"


def test_api_pages_show_the_docstrings(site: Path) -> None:
    from rho_agent.config import AgentConfig

    agent = _words(text_of(site / "api" / "agent.html"))
    assert _words(inspect.getdoc(rho_agent.Agent) or "missing") <= agent
    config = text_of(site / "api" / "config.html")
    assert "Environment variables passed to tool subprocesses on purpose" in config
    assert "max_cost_usd" in config and AgentConfig.__name__ in config


def test_event_and_testing_pages_cover_the_public_names(site: Path) -> None:
    ids = documented(site / "api" / "events.html")
    event_types = [
        c for c in vars(events).values() if isinstance(c, type) and issubclass(c, events._Event)
    ]
    assert len(event_types) >= 10
    assert {f"rho_agent.events.{c.__name__}" for c in event_types if c is not events._Event} <= ids
    assert "rho_agent.events.parse_event" in ids

    import rho_agent.testing
    import rho_agent.testing.daytona

    ids = documented(site / "api" / "testing.html")
    assert {f"rho_agent.testing.{n}" for n in rho_agent.testing.__all__} <= ids
    assert {f"rho_agent.testing.daytona.{n}" for n in rho_agent.testing.daytona.__all__} <= ids


def test_cli_reference_is_the_real_cli(site: Path) -> None:
    page = text_of(site / "cli.html")
    for option in option_table():
        assert f"--{option.name.replace('_', '-')}" in page, option.name
    for flag in ("--profile", "--backend", "--upload", "--download", "--output-format"):
        assert flag in page
    for command in ("rho-agent sessions list", "rho-agent sandboxes cleanup"):
        assert command in page


def test_cli_page_is_rendered_from_help_and_a_stale_copy_is_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(DOCS / "_ext"))
    import rho_docs

    warnings: list[str] = []
    monkeypatch.setattr(rho_docs.logger, "warning", lambda msg, **kw: warnings.append(msg))
    current = (DOCS / "cli.md").read_text()
    source = [current]
    rho_docs._live_cli_page(None, "cli", source)  # type: ignore[arg-type]
    assert source == [current] and warnings == []
    source = ["# CLI reference\n\nwritten by hand\n"]
    rho_docs._live_cli_page(None, "cli", source)  # type: ignore[arg-type]
    assert source == [current]
    assert warnings and "docs/cli.md is stale" in warnings[0]


@pytest.mark.parametrize("name", sorted(BUILTIN_PROFILES))
def test_profile_page_shows_the_real_profile(site: Path, name: str) -> None:
    profile = BUILTIN_PROFILES[name]
    page = text_of(site / "profiles" / f"{name}.html")
    assert profile.description in page
    assert html.unescape(profile.summary()) in page
    for field in Profile.model_fields:
        if field in ("name", "description"):
            continue
        value = getattr(profile, field)
        if isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, tuple):
            shown = "[" + ", ".join(f'"{v}"' for v in value) + "]"
        else:
            shown = f'"{value}"'
        assert f"{field} {shown}" in page, f"{field} = {shown} not on the {name} page"


def test_custom_profile_page_lists_every_key_and_its_example_loads(
    site: Path, tmp_path: Path
) -> None:
    from rho_agent.permissions.profile import load_profile_file

    page = text_of(site / "profiles" / "custom.html")
    for field in Profile.model_fields:
        assert field in page
    (example,) = re.findall(
        r"```toml\n(.*?)```", (DOCS / "profiles" / "custom.md").read_text(), re.S
    )
    path = tmp_path / "careful.toml"
    path.write_text(example)
    profile = load_profile_file(path)
    assert profile.name == "careful" and profile.file_write.value == "create-only"


def test_every_page_is_in_the_site(site: Path) -> None:
    pages = {p.relative_to(DOCS).with_suffix("") for p in DOCS.rglob("*.md")}
    pages -= {Path("README")}
    pages |= {Path("notebooks") / nb.stem for nb in NOTEBOOKS}
    assert pages == {p.relative_to(site).with_suffix("") for p in site.rglob("*.html")} - {
        Path(p) for p in ("genindex", "search", "py-modindex")
    } - {p.relative_to(site).with_suffix("") for p in (site / "_modules").rglob("*.html")}


def _words(value: str) -> set[str]:
    """The words of some text, without terminal colours, Markdown link targets, escapes."""
    value = re.sub(r"\x1b\[[0-9;]*m", "", value)
    value = re.sub(r"\]\([^)]*\)", "]", value)
    value = re.sub(r"\\[nrt]", " ", value)  # "a\\nb" in code: \n is highlighted apart
    return set(re.findall(r"[A-Za-z0-9]{4,}", value))


def _visible(html_text: str) -> str:
    parser = _Text()
    parser.feed(html_text)
    return " ".join(parser.parts)


#: What MyST-NB shows of an output, in its order of preference for HTML (a widget view
#: needs the widget state saved in the notebook, so its words are not asked for).
_SHOWN = {
    "application/vnd.jupyter.widget-view+json": None,
    "application/javascript": None,
    "text/html": _visible,
    "image/svg+xml": None,
    "image/png": None,
    "image/gif": None,
    "image/jpeg": None,
    "text/markdown": _visible,  # it may hold HTML too
    "text/plain": str,
}


def _shown_words(output: dict[str, Any]) -> set[str]:
    if output["output_type"] == "stream":
        return _words("".join(output["text"]))
    if output["output_type"] == "error":
        return _words(output["evalue"])
    data = output.get("data", {})
    for mime, show in _SHOWN.items():
        if mime in data:
            return _words(show("".join(data[mime]))) if show else set()
    return set()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_notebook_is_rendered_with_its_saved_outputs(site: Path, notebook: Path) -> None:
    page = site / "notebooks" / f"{notebook.stem}.html"
    words = _words(text_of(page))
    cells = json.loads(notebook.read_text())["cells"]
    images = 0
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            assert _words(source) <= words, f"code not shown: {source[:80]!r}"
        for heading in (
            re.findall(r"^#+ (.*)$", source, re.M) if cell["cell_type"] == "markdown" else []
        ):
            assert _words(heading) <= words, f"heading not shown: {heading!r}"
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            images += any(m in data for m in ("image/png", "image/jpeg", "image/svg+xml")) and not (
                "text/html" in data or "application/vnd.jupyter.widget-view+json" in data
            )
            missing = _shown_words(output) - words
            assert not missing, f"output words not shown: {sorted(missing)[:10]}"
    assert page.read_text().count("<img ") >= images


def _png() -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


def test_notebooks_are_rendered_from_saved_outputs_never_run(tmp_path: Path) -> None:
    """With the site's own conf.py: a cell that would fail if run shows what was saved."""
    import nbformat

    source = tmp_path / "src"
    source.mkdir()
    (source / "index.md").write_text("# Site\n\n```{toctree}\n:glob:\n\nnotebooks/*\n```\n")
    (source / "notebooks").mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "python3", "language": "python"}}
    cell = nbformat.v4.new_code_cell('%%rho\nraise SystemExit("this cell was run")')
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="saved stream output\n"),
        nbformat.v4.new_output(
            "display_data", data={"text/markdown": "**saved** markdown answer", "text/plain": "x"}
        ),
        nbformat.v4.new_output(
            "display_data", data={"image/png": _png(), "text/plain": "<Figure>"}
        ),
    ]
    notebook.cells = [nbformat.v4.new_markdown_cell("# Saved outputs"), cell]
    nbformat.write(notebook, source / "notebooks" / "saved.ipynb")

    proc = sphinx_build(source, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    page = tmp_path / "out" / "html" / "notebooks" / "saved.html"
    text = text_of(page)
    assert "saved stream output" in text and "saved markdown answer" in text
    assert "this cell was run" in text  # the source, shown
    assert "SystemExit: this cell was run" not in text  # never executed
    assert "<img " in page.read_text()
    assert 'class="highlight-ipython3' in page.read_text()  # %%rho cells highlighted as IPython
