"""Pages of the documentation site generated from the code itself.

- `cli.md` is rendered from the CLI's own `--help` at build time (`scripts/cli_reference.py`
  is the one renderer); the checked-in `docs/cli.md`, which GitHub shows, must equal it, or
  the build warns (and so fails: it is strict).
- ```` ```{rho-profile} NAME ```` renders a built-in profile's settings, the tools it offers
  and the paragraph the model is told, from `rho_agent.permissions.profile`.
- ```` ```{rho-profile-fields} ```` renders the keys of a profile TOML file, from `Profile`.
- A builtin type in a signature (`type[Tool]`) is not matched to an attribute of ours.

And two things that let `docs/notebooks` be a link to the repository's `notebooks/` (so the
notebooks are rendered where they are, never copied): a page's link to
`../notebooks/NAME.ipynb`, right on GitHub, finds the rendered notebook; and a notebook saved
without `language_info.pygments_lexer` has its cells highlighted as IPython (`%%rho` cells),
as Jupyter would after running it.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
logger = logging.getLogger(__name__)


def _cli_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "scripts" / "cli_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _live_cli_page(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != "cli":
        return
    rendered = _cli_reference().render()
    if source[0] != rendered:
        logger.warning(
            "docs/cli.md is stale (the CLI's --help changed): run python scripts/cli_reference.py",
            location=docname,
        )
    source[0] = rendered


def _notebook_lexer(app: Sphinx, docname: str, source: list[str]) -> None:
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    notebook = json.loads(source[0])
    metadata = notebook.setdefault("metadata", {})
    language = (metadata.get("kernelspec") or {}).get("language")
    info = metadata.setdefault("language_info", {})
    if language == "python" and "pygments_lexer" not in info:
        info["pygments_lexer"] = "ipython3"
        source[0] = json.dumps(notebook)


def _linked_documents(app: Sphinx, env: Any, docnames: list[str]) -> None:
    """Make a document read through a symlink known by its real path too.

    Links are resolved on real paths (`relfn2path` resolves symlinks), so without this
    `notebooks/x.ipynb` and `../notebooks/x.ipynb` would not find `docs/notebooks/x.ipynb`.
    """
    by_path = getattr(env.project, "_path_to_docname", None)
    if by_path is None:
        logger.warning("this Sphinx keeps no Project._path_to_docname: links into notebooks/ break")
        return
    for docname in env.found_docs:
        path = Path(env.doc2path(docname))
        real = path.resolve()
        if real != path:
            by_path[real] = docname


def _builtins_are_builtins(app: Sphinx, doctree: nodes.document) -> None:
    """A builtin in a signature (`type[Tool]`) is the builtin, not an attribute of ours.

    Sphinx resolves a type in a signature by fuzzy match too, so `type` would find every
    event's `type` field and warn that the reference is ambiguous.
    """
    for ref in doctree.findall(addnodes.pending_xref):
        target = ref.get("reftarget", "")
        if ref.get("refdomain") == "py" and "refspecific" in ref and hasattr(builtins, target):
            del ref["refspecific"]  # the domain tests whether the attribute is there


def _table(header: list[str], rows: list[list[nodes.Node | str]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    body = nodes.tbody()
    group += body
    for target, cells in ((head, header), *((body, row) for row in rows)):
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(
                "", "", cell if isinstance(cell, nodes.Node) else nodes.Text(cell)
            )
            row += entry
        target += row
    return table


def _value(value: Any) -> nodes.Node:
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, bool):
        return nodes.literal("", "true" if value else "false")
    if isinstance(value, list):
        return nodes.literal("", "[" + ", ".join(f'"{v}"' for v in value) + "]")
    return nodes.literal("", f'"{value}"')


class ProfileDirective(SphinxDirective):
    """The settings of a built-in profile, the tools it offers, and what the model is told."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from rho_agent.permissions.profile import BUILTIN_PROFILES, Profile
        from rho_agent.tools import build_tools

        name = self.arguments[0]
        if name not in BUILTIN_PROFILES:
            raise self.error(f"no built-in profile {name!r}: {', '.join(BUILTIN_PROFILES)}")
        profile = BUILTIN_PROFILES[name]
        rows: list[list[nodes.Node | str]] = [
            [nodes.literal("", field), _value(getattr(profile, field))]
            for field in Profile.model_fields
            if field not in ("name", "description")
        ]
        tools = [t.name for t in build_tools(profile, databases={"app": "app.db"})]
        tools_para = nodes.paragraph("", "Tools offered (with a database configured): ")
        for i, tool in enumerate(tools):
            tools_para += nodes.literal("", tool)
            tools_para += nodes.Text(", " if i < len(tools) - 1 else ".")
        told = nodes.block_quote("", nodes.paragraph("", profile.summary()))
        return [
            nodes.paragraph("", profile.description),
            _table(["setting", "value"], rows),
            tools_para,
            nodes.paragraph("", "What the model is told about it, in the system prompt:"),
            told,
        ]


class ProfileFieldsDirective(SphinxDirective):
    """Every key of a profile TOML file: its allowed values and its default."""

    def run(self) -> list[nodes.Node]:
        import enum

        from rho_agent.permissions.profile import Profile

        rows: list[list[nodes.Node | str]] = []
        for field, info in Profile.model_fields.items():
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, enum.Enum):
                allowed = " | ".join(m.value for m in kind)
            elif kind is bool:
                allowed = "true | false"
            elif kind is str:
                allowed = "a string"
            else:
                allowed = "a list of strings"
            default = (
                "required (the file name by default)"
                if info.is_required()
                else _value(info.default)
            )
            rows.append([nodes.literal("", field), allowed, default])
        return [_table(["key", "values", "default"], rows)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("source-read", _live_cli_page)
    app.connect("source-read", _notebook_lexer)
    app.connect("env-before-read-docs", _linked_documents)
    app.connect("doctree-read", _builtins_are_builtins)
    app.add_directive("rho-profile", ProfileDirective)
    app.add_directive("rho-profile-fields", ProfileFieldsDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["setup"]
