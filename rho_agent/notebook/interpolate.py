"""Safe `{name}` interpolation of a `%%rho` prompt.

`{name}` is replaced by `str(value)` only when `name` is a variable in the user's namespace.
Everything else stays as written: JSON (`{"a": 1}`), empty braces (`{}`), unknown names,
attribute or index expressions (`{df.shape}`), and anything inside backticks, so code in a
prompt is never rewritten. `{{name}}` gives a literal `{name}` when `name` is defined
(and is left as it is when not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Fenced code, inline code, an escaped {{name}}, or a {name} candidate — scanned left to right.
_TOKEN = re.compile(
    r"(?P<fence>```.*?(?:```|\Z))|(?P<code>`[^`\n]*`)|\{\{(?P<escaped>\w+)\}\}|\{(?P<name>[A-Za-z_]\w*)\}",
    re.S,
)


def interpolate(prompt: str, namespace: Mapping[str, Any]) -> str:
    """`prompt` with `{name}` replaced for every `name` defined in `namespace`."""

    def replace(match: re.Match[str]) -> str:
        escaped, name = match["escaped"], match["name"]
        if escaped is not None and _defined(escaped, namespace):
            return "{" + escaped + "}"
        if name is not None and _defined(name, namespace):
            return str(namespace[name])
        return match[0]

    return _TOKEN.sub(replace, prompt)


def _defined(name: str, namespace: Mapping[str, Any]) -> bool:
    return not name.startswith("_") and name in namespace
