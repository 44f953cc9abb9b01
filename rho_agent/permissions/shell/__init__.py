"""The restricted shell's implementation; `rho_agent.permissions.shell_policy` re-exports it.

The whole command line is parsed the way bash parses it (lists, pipelines, subshells,
groups, compound commands, quoting, substitutions, redirections, heredocs), and every
command in it, however deeply nested or wrapped (`env`, `xargs`, `sh -c`, `find -exec`,
...), must come from a read-only set with read-only options. It is never prefix
matching, and it fails closed: syntax the parser does not understand, words whose
value is only known at run time where that value matters, and unknown commands are
all denied, with a reason the model can act on. `dangerous_reason` walks the same parse
tree for the `developer` profile's approvals, and asks when it cannot tell. Bash
semantics are assumed (the bash tool runs `bash -c`).

This is the helper, not the wall: the OS sandbox around every command (`rho_agent.sandbox`)
is what keeps a command from writing or connecting. The parser refuses early and clearly,
and decides approvals. Its cost is linear in the command's length and bounded: nesting
(substitutions, compound commands, wrappers, `sh -c`) stops at 32 levels, and a command
over `MAX_COMMAND_BYTES` is not parsed at all.

Every module here is private (`_name.py`); this package exports the entry points, and
`rho_agent.permissions.shell_policy` re-exports them. Modules, bottom up (each imports
only modules listed before it, except that `_reasons` names `_lexer.ParseError` in a type):

- `_syntax`: the parse tree (`Word`, `Simple`, `Compound`, `Script`, ...) and word helpers.
- `_options`: GNU-style option parsing for the per-command rules.
- `_reasons`: sentences shared by the rules.
- `_rules`: what a rule is (`Check`), the `Context` it is given, and `SINKS`.
- `_variables`: variables that change which programs run; declare/read/unset/set.
- `_lexer`, `_expansions`, `_parser`: one recursive-descent parser in three layers:
  tokens, words, quoting and heredocs (and the size limit); `$...`, `${...}`, arithmetic
  and substitutions; the grammar of lists, pipelines and compound commands.
- `_coreutils`, `_awk`, `_text_tools`, `_archives`, `_toolchains`, `_git`, `_wrappers`:
  per-command read-only rules, by family (`_awk` reads awk programs for `print > file`
  and pipes).
- `_commands`: the table of checked, free and denied commands.
- `_readonly`: the walker that applies the rules to a parse tree (the rules' `Context`).
- `_destructive_git`, `_destructive`: what `dangerous_reason` asks about, per command.
- `_policy` (`check_command`) and `_dangerous` (`dangerous_reason`): the entry points.
"""

from __future__ import annotations

from rho_agent.permissions.shell._dangerous import dangerous_reason
from rho_agent.permissions.shell._lexer import MAX_COMMAND_BYTES
from rho_agent.permissions.shell._policy import ShellVerdict, check_command

__all__ = ["MAX_COMMAND_BYTES", "ShellVerdict", "check_command", "dangerous_reason"]
