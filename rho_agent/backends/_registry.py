"""Backends by name: what `--backend NAME`, `backend="NAME"` and `RHO_AGENT_BACKEND` mean.

A backend arrives in one of three ways, all ending in a `BackendPlugin`:

- `register_backend(name, factory, ...)` in code;
- a "module:attribute" reference to a `BackendPlugin`, imported on first use: the built-ins
  `local` and `daytona` (their modules, and Daytona's SDK, load when they are used);
- the entry-point group `rho_agent.backends` of an installed package: the entry point's name
  is the backend's name, and it loads a `BackendPlugin` or a zero-argument factory::

      [project.entry-points."rho_agent.backends"]
      docker = "rho_docker:plugin"

Entry points are read once, on the first lookup or listing, and a plugin's module is
imported only when that backend is used: listing names imports nothing. A plugin that fails
to import is a `ConfigError` naming its entry point, raised only when it is used.
Names registered in code take precedence over entry points of the same name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

from rho_agent._util import did_you_mean
from rho_agent.backends._request import Backend
from rho_agent.errors import ConfigError
from rho_agent.options import Option

GROUP = "rho_agent.backends"


@dataclass(frozen=True)
class BackendPlugin:
    """A backend as front ends see it: a name, how to make one, and the flags it adds.

    - `factory()` is what the bare name means (`backend="NAME"` in Python, config and env).
    - `options` are flags the backend adds to `rho-agent main` and `%%rho`.
    - `configure(working_dir=..., **values)` makes the backend from the flags a user gave
      (keys are `Option.name`s; only given options are passed: a flag left unset, off or
      empty is left out). `working_dir` is the front end's `--working-dir` or None. Without
      `configure`, the backend takes no options: `factory()` is used.
    - `front_end_options` names options the front end acts on itself rather than the
      backend: they are never passed to `configure`. Daytona's `download` (copy out after a
      one-shot run, through `Workspace.download`) is one.

    Front ends call `build(working_dir=..., **values)`, which applies these rules.
    """

    name: str
    factory: Callable[[], Backend]
    options: tuple[Option, ...] = ()
    configure: Callable[..., Backend] | None = None
    description: str = ""
    front_end_options: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"A backend name must be a non-empty string, not {self.name!r}")
        names = [o.name for o in self.options]
        if len(set(names)) != len(names):
            raise ValueError(f"Backend {self.name!r}: two options share a name: {names}")
        unknown = self.front_end_options - set(names)
        if unknown:
            raise ValueError(f"Backend {self.name!r}: front_end_options not in options: {unknown}")

    def build(self, *, working_dir: str | None = None, **values: Any) -> Backend:
        """The backend for these option values (keys: `Option.name`; unset ones may be passed
        as None, False or empty and are ignored). A given option this backend does not
        have is a ConfigError naming the flag."""
        given = {k: v for k, v in values.items() if not _unset(v)}
        own = {o.name for o in self.options}
        foreign = [k for k in given if k not in own]
        if foreign or (given and self.configure is None):
            names = foreign or list(given)
            flags = _join([_flag(k) for k in names])
            owners = _owners(names)
            if len(owners) == 1:  # the usual case: flags of another backend
                raise ConfigError(
                    f"{flags} need{'s' if len(names) == 1 else ''} --backend {owners[0]}."
                )
            raise ConfigError(
                f"{flags} {'is not an option' if len(names) == 1 else 'are not options'} "
                f"of the '{self.name}' backend."
            )
        if self.configure is None:
            return self.factory()
        for name in self.front_end_options:
            given.pop(name, None)
        return self.configure(working_dir=working_dir, **given)


def register_backend(
    name: str,
    factory: Callable[[], Backend],
    *,
    options: tuple[Option, ...] | list[Option] = (),
    configure: Callable[..., Backend] | None = None,
    description: str = "",
    front_end_options: frozenset[str] | set[str] = frozenset(),
) -> BackendPlugin:
    """Make `name` mean `factory()` wherever a backend is named. Names are unique."""
    plugin = BackendPlugin(
        name,
        factory,
        tuple(options),
        configure,
        description,
        frozenset(front_end_options),
    )
    if name in _registered:
        raise ValueError(f"A backend named {name!r} is already registered")
    _registered[name] = plugin
    return plugin


#: In-code registrations: a plugin, or "module:attribute" where one is (imported on use).
_registered: dict[str, BackendPlugin | str] = {
    "local": "rho_agent.backends._local:PLUGIN",
    "daytona": "rho_agent.backends.daytona:PLUGIN",
}
#: Entry points by name, read once.
_entry_points: dict[str, list[EntryPoint]] | None = None


def _installed() -> dict[str, list[EntryPoint]]:
    global _entry_points
    if _entry_points is None:
        found: dict[str, list[EntryPoint]] = {}
        for ep in entry_points(group=GROUP):
            found.setdefault(ep.name, []).append(ep)
        _entry_points = found
    return _entry_points


def backend_names() -> list[str]:
    """Every backend name, built-in first; imports no plugin."""
    return [*_registered, *(n for n in sorted(_installed()) if n not in _registered)]


def backend_plugin(name: str) -> BackendPlugin:
    """The plugin registered as `name` (its module imported now, if it was not yet)."""
    entry = _registered.get(name)
    if isinstance(entry, BackendPlugin):
        return entry
    if isinstance(entry, str):
        plugin = _as_plugin(name, _import(entry), f"built-in backend {entry}")
        _registered[name] = plugin
        return plugin
    eps = _installed().get(name)
    if not eps:
        names = backend_names()
        raise ConfigError(
            f"Unknown backend '{name}'{did_you_mean(name, names)}. Use one of: {', '.join(names)}."
        )
    if len({ep.value for ep in eps}) > 1:
        where = "; ".join(f"{ep.value} ({_dist(ep)})" for ep in eps)
        raise ConfigError(
            f"Two installed packages provide the backend '{name}': {where}. Uninstall one."
        )
    ep = eps[0]
    what = f"entry point '{ep.name} = {ep.value}' ({_dist(ep)}, group {GROUP})"
    try:
        loaded = ep.load()
    except Exception as exc:
        raise ConfigError(
            f"Backend '{name}' could not be loaded from {what}: "
            f"{type(exc).__name__}: {_one_line(exc)}"
        ) from exc
    plugin = _as_plugin(name, loaded, what)
    _registered[name] = plugin  # loaded once; later lookups skip the entry point
    return plugin


def resolve_backend(spec: Any) -> Backend:
    """A backend from None ("local"), a registered name, or a backend object."""
    if spec is None:
        spec = "local"
    if isinstance(spec, str):
        return backend_plugin(spec).factory()
    if isinstance(spec, Backend):
        return spec
    raise ConfigError(
        f"backend must be a name ({', '.join(backend_names())}) or a backend object, not {spec!r}"
    )


def _as_plugin(name: str, loaded: Any, what: str) -> BackendPlugin:
    if isinstance(loaded, BackendPlugin):
        if loaded.name != name:
            raise ConfigError(f"{what} gives a backend named '{loaded.name}', not '{name}'.")
        return loaded
    if callable(loaded):
        return BackendPlugin(name, cast("Callable[[], Backend]", loaded))
    raise ConfigError(f"{what} is neither a BackendPlugin nor a factory: {loaded!r}")


def _import(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _dist(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"package {dist.name}" if dist is not None else "unknown package"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or "(no message)"


def _owners(option_names: list[str]) -> list[str]:
    """Loaded backends that have every one of these options (no plugin is imported)."""
    return [
        p.name
        for p in _registered.values()
        if isinstance(p, BackendPlugin) and set(option_names) <= {o.name for o in p.options}
    ]


def _unset(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, list | tuple) and not value)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
