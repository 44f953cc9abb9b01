"""The restricted shell's implementation; import from `rho_agent.permissions.shell_policy`.

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

Modules, bottom up (at run time each imports only modules listed before it):

- `syntax`: the parse tree (`_Word`, `_Simple`, `_Compound`, `_Script`, ...).
- `options`: GNU-style option parsing for the per-command rules.
- `reasons`: sentences shared by the rules.
- `variables`: variables that change which programs run; declare/read/unset/set.
- `lexer`, `expansions`, `parser`: one recursive-descent parser in three layers:
  tokens, words, quoting and heredocs (and the size limit); `$...`, `${...}`, arithmetic
  and substitutions; the grammar of lists, pipelines and compound commands.
- `coreutils`, `awk`, `text_tools`, `archives`, `toolchains`, `git`, `wrappers`: per-command
  read-only rules, by family (`awk` reads awk programs for `print > file` and pipes).
- `commands`: the table of checked, free and denied commands.
- `readonly`: the walker that applies the rules to a parse tree.
- `destructive_git`, `destructive`: what `dangerous_reason` asks about, per command.
- `policy` (`check_command`) and `dangerous` (`dangerous_reason`): the entry points.
"""
