"""Markdown that means what it says in Jupyter, nbviewer and on GitHub.

Their renderers read `$…$` as TeX math and `<tag>` as HTML: "from $120 to $144" turns into
italic math, "use a <div>" disappears. `escape_markdown` escapes those outside code (fenced
blocks and inline code spans are left exactly as written), so the text reads as typed.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
# `$`, a backslash before TeX's \( \) \[ \], and `<` that would open a tag or comment.
_SPECIAL = re.compile(r"(?<!\\)\$|\\(?=[()\[\]])|<(?=[A-Za-z/!?])")


#: MathJax skips elements with these classes (v3's default, and v2's for nbviewer): JupyterLab
#: typesets the rendered HTML, where Markdown's own `\$` escape has already become a bare `$`.
_NO_MATH = '<div class="mathjax_ignore tex2jax_ignore">\n\n{}\n\n</div>'


def no_math(markdown: str) -> str:
    """`markdown` in a block MathJax leaves alone (the Markdown inside is still rendered)."""
    return _NO_MATH.format(markdown)


def escape_markdown(text: str) -> str:
    """`text` with math and HTML openers escaped outside code."""
    out: list[str] = []
    fence: str | None = None
    prose: list[str] = []
    for line in text.splitlines(keepends=True):
        opening = _FENCE.match(line)
        if fence is None and opening:
            out.append(_escape_prose("".join(prose)))
            prose = []
            fence = opening.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                fence = None
        else:
            prose.append(line)
    out.append(_escape_prose("".join(prose)))
    return "".join(out)


def _escape_prose(text: str) -> str:
    """Escape outside inline code spans."""
    pieces: list[str] = []
    at = 0
    for span in _INLINE_CODE.finditer(text):
        pieces.append(_SPECIAL.sub(_escaped, text[at : span.start()]))
        pieces.append(span.group(0))
        at = span.end()
    pieces.append(_SPECIAL.sub(_escaped, text[at:]))
    return "".join(pieces)


def _escaped(match: re.Match[str]) -> str:
    return {"$": r"\$", "\\": "\\\\", "<": "&lt;"}[match.group(0)]
