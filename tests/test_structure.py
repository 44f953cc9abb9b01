"""The package's shape: no import cycle among rho_agent's modules, front ends kept apart.

The import graph counts every import: module-level, inside functions and under
`if TYPE_CHECKING:` (a cycle a type checker sees is a cycle a reader has to untangle too).
An import names the deepest module that exists: `from rho_agent.backends import daytona` is
an edge to `rho_agent.backends.daytona` when that is a module, else to the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rho_agent"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            # `from pkg import mod` is an edge to pkg.mod; `from mod import name` to mod.
            targets = [t for t in targets if t in modules][:1] or [base]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("rho_agent") and target != name:
                edges.add(target)
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50 and "rho_agent.session" in graph
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_front_ends_do_not_import_each_other() -> None:
    graph = import_graph()
    for name, edges in graph.items():
        for face, other in (("cli", "notebook"), ("notebook", "cli")):
            if name.startswith(f"rho_agent.{face}"):
                bad = sorted(e for e in edges if e.startswith(f"rho_agent.{other}"))
                assert not bad, f"{name} imports {bad}"


def test_the_core_does_not_import_a_front_end() -> None:
    faces = ("rho_agent.cli", "rho_agent.notebook", "rho_agent.frontend")
    graph = import_graph()
    for name, edges in graph.items():
        if name.startswith(faces) or name in ("rho_agent", "rho_agent.__main__"):
            continue  # `%load_ext rho_agent` and `python -m rho_agent` hand over to a face
        bad = sorted(e for e in edges if e.startswith(faces))
        assert not bad, f"{name} imports {bad}"
