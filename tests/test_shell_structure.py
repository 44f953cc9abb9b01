"""The restricted shell's package structure: private modules, plain names, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import rho_agent.permissions.shell as shell
from rho_agent.permissions import shell_policy

PACKAGE = shell.__name__
MODULES = {
    (PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"): ast.parse(
        path.read_text(encoding="utf-8"), filename=str(path)
    )
    for path in sorted(Path(shell.__file__).parent.glob("*.py"))
}


def _imports(module: str, tree: ast.Module) -> list[tuple[str, list[str]]]:
    """Every `from X import a, b` (as (X, [a, b])) and `import X` (as (X, [])) in a
    module, at any nesting level (functions, `if TYPE_CHECKING:`), relative ones resolved."""
    found: list[tuple[str, list[str]]] = []
    package = module if module == PACKAGE else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{source}" if source else base
            found.append((source, [alias.name for alias in node.names]))
    return found


def _sibling(source: str) -> bool:
    return source == PACKAGE or source.startswith(f"{PACKAGE}.")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_every_module_is_private_and_the_package_exports_the_entry_points() -> None:
    assert len(MODULES) > 10
    assert all(m == PACKAGE or m.rpartition(".")[2].startswith("_") for m in MODULES)
    assert shell.__all__ == [
        "MAX_COMMAND_BYTES",
        "ShellVerdict",
        "check_command",
        "dangerous_reason",
    ]
    for name in shell.__all__:
        assert getattr(shell_policy, name) is getattr(shell, name)


def test_no_module_imports_an_underscore_name_from_a_sibling() -> None:
    offenders = [
        f"{module}: from {source} import {name}"
        for module, tree in MODULES.items()
        for source, names in _imports(module, tree)
        if _sibling(source)
        for name in names
        if _private(name)
    ]
    assert offenders == []


def test_no_import_cycle_among_the_modules() -> None:
    graph: dict[str, set[str]] = {}
    for module, tree in MODULES.items():
        targets = graph.setdefault(module, set())
        for source, names in _imports(module, tree):
            if not _sibling(source):
                continue
            # `from pkg import _mod` names a module; `from pkg import name` the package.
            submodules = [f"{source}.{n}" for n in names if f"{source}.{n}" in MODULES]
            targets.update(submodules or [source])
        targets.discard(module)

    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = " -> ".join([*path[path.index(module) :], module])
            raise AssertionError(f"import cycle: {cycle}")
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
