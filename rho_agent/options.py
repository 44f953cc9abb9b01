"""One option a front end offers, declared once: its name, type, help and limits.

The agent's own options (`--profile`, `--model`, ...) and those a backend contributes
(Daytona's `--image`, `--keep`, ...) are `Option`s. The `rho-agent main` command and the
`%%rho` parser are both generated from them, so an option has one name, one help text and
one limit on every front end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rho_agent.errors import ConfigError


@dataclass(frozen=True)
class Option:
    #: A Python identifier: the key of the value, and the flag `--name-with-dashes`.
    name: str
    help: str
    #: `str`, `int` or `float` take a value; `bool` is a flag that is off unless given.
    type: type = str
    #: Repeatable: the values given collect into a list.
    multiple: bool = False
    metavar: str | None = None
    #: Smallest value accepted (numbers only).
    minimum: float | None = None
    #: A one-letter alias such as "-y".
    short: str | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"Option name {self.name!r} is not a Python identifier")
        if self.type not in (str, int, float, bool):
            raise ValueError(f"Option {self.name!r}: type must be str, int, float or bool")
        if self.short is not None and not (
            len(self.short) == 2 and self.short[0] == "-" and self.short[1].isalpha()
        ):
            raise ValueError(f"Option {self.name!r}: short must be a dash and a letter, e.g. '-m'")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def flags(self) -> tuple[str, ...]:
        return (self.flag, self.short) if self.short else (self.flag,)

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    def parse(self, text: str) -> Any:
        """`text` as this option's type, within its limit. ValueError says what is wrong
        (without the flag, which the front end adds in its own way)."""
        kind = self.type
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"expected {_a(kind)}, got {text!r}") from None
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}, got {text}")
        return value

    def convert(self, text: str) -> Any:
        """`parse`, with a ConfigError that names the flag."""
        try:
            return self.parse(text)
        except ValueError as exc:
            raise ConfigError(f"{self.flag}: {exc}") from None


def _a(kind: type) -> str:
    return {int: "an integer", float: "a number"}.get(kind, "a string")
