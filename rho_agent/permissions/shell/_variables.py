"""Variables that change which programs run, and the builtins that set them."""

from __future__ import annotations

from rho_agent.permissions.shell._options import first_unlisted, getopt, values
from rho_agent.permissions.shell._reasons import computed, not_read_only
from rho_agent.permissions.shell._rules import Context
from rho_agent.permissions.shell._syntax import ASSIGN_RE, NAME_RE, Word, names

_UNSAFE_VARIABLES = names(
    "PATH ENV IFS SHELLOPTS PROMPT_COMMAND HOME XDG_CONFIG_HOME SHELL PAGER MANPAGER EDITOR "
    "VISUAL BROWSER TAR_OPTIONS TAPE RIPGREP_CONFIG_PATH GCONV_PATH GREP_OPTIONS "
    # default options of the archive tools and toolchains read-only mode allows
    "UNZIP UNZIPOPT ZIPINFO ZIPINFOOPT GZIP BZIP BZIP2 XZ_OPT XZ_DEFAULTS "
    "GOFLAGS GOTOOLCHAIN GOENV GOROOT GOPROXY JAVA_TOOL_OPTIONS JDK_JAVA_OPTIONS _JAVA_OPTIONS"
)
_UNSAFE_PREFIXES = tuple(
    names("LD_ DYLD_ GIT_ BASH PYTHON PERL RUBY NODE_ LESS PS PIP_ NPM_CONFIG_ npm_config_ "
           "CARGO RUSTC RUSTUP_")
)  # fmt: skip


def unsafe_variable(name: str, value: str | None = None) -> bool:
    """Variables that make later commands run other code (PATH, LD_PRELOAD, GIT_*, PS4...).
    `value` is the assigned value when it is known exactly."""
    if name in ("PAGER", "GIT_PAGER") and value in ("", "cat"):
        return False
    return name in _UNSAFE_VARIABLES or name.startswith(_UNSAFE_PREFIXES)


def assignment_problem(word: Word) -> str | None:
    """NAME=value, from a shell assignment or an `env` argument."""
    m = ASSIGN_RE.match(word.raw)
    name = m.group(1) if m else word.value.partition("=")[0]
    if unsafe_variable(name, word.value.partition("=")[2] if word.exact else None):
        return (
            f"Setting {name} is not allowed in read-only mode: it changes which programs or "
            "code later commands run."
        )
    return None


# shell builtins that change the shell ----------------------------------------------------


def check_declare(ctx: Context, argv: list[Word]) -> str | None:
    """export/declare/local/readonly: plain names and NAME=value only; -n (nameref) and
    -i (arithmetic) could smuggle code in or point a harmless name at PATH."""
    name = argv[0].value
    flags = set("pn" if name == "export" else "pxrgluFfaA")
    for word in argv[1:]:
        if ASSIGN_RE.match(word.raw):
            if reason := assignment_problem(word):
                return reason
        elif word.exact and NAME_RE.fullmatch(word.value):
            printing = any(w.exact and w.value == "-p" for w in argv[1:])
            if unsafe_variable(word.value) and not printing:  # e.g. export -n PATH
                return f"'{name} {word.value}' is not allowed in read-only mode: it changes which programs run."
        elif not (
            word.exact
            and word.value[:1] in "-+"
            and len(word.value) > 1
            and set(word.value[1:]) <= flags
        ):
            return f"'{name} {word.raw}' is not allowed in read-only mode; use plain NAME=value assignments."
    return None


def check_read(ctx: Context, argv: list[Word]) -> str | None:
    """`read` assigns variables, so the names get the same rules as assignments;
    a subscripted name (`a[$(cmd)]`) would run code."""
    opts = getopt(argv[1:], "adinNptu", ())
    if opts.unknown:
        return computed("read", opts.unknown)
    if bad := first_unlisted(opts, ("-r", "-s", "-d", "-n", "-N", "-p", "-t", "-u", "-a")):
        return not_read_only("read", bad)
    names = opts.operands + values(opts, "-a")
    for word in names:
        if not (word.exact and NAME_RE.fullmatch(word.value)) or unsafe_variable(word.value):
            return f"'read {word.raw}' is not allowed in read-only mode; read into plain variable names like line."
    return None


def check_unset(ctx: Context, argv: list[Word]) -> str | None:
    """`unset PATH` makes bash look for commands in the current directory."""
    for word in argv[1:]:
        if not (word.exact and (NAME_RE.fullmatch(word.value) or word.value in ("-v", "-f", "-n"))):
            return f"'unset {word.raw}' is not allowed in read-only mode; unset plain variable names only."
        if unsafe_variable(word.value):
            return f"'unset {word.value}' is not allowed in read-only mode: it changes which programs run."
    return None


SET_OPTIONS = names("errexit nounset xtrace verbose pipefail noglob noclobber")


def check_set(ctx: Context, argv: list[Word]) -> str | None:
    """Only options that make scripts stricter; -k would turn arguments into environment,
    -H enables history expansion."""
    words, i = argv[1:], 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.exact:
            return computed("set", word)
        value = word.value
        if value in ("--", "-") or value[:1] not in ("-", "+") or len(value) < 2:
            return None  # positional parameters follow
        flags = value[1:]
        if set(flags.rstrip("o")) - set("euxvfC") or flags.count("o") > 1:
            return not_read_only("set", value)
        if flags.endswith("o") and i < len(words):  # -o NAME, also at the end of a cluster
            if words[i].value not in SET_OPTIONS:
                return not_read_only(f"set {value}", words[i].raw)
            i += 1
    return None
