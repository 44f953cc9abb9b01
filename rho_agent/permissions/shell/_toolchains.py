"""Read-only rules for interpreters, toolchains and package managers: version queries and
the listing subcommands (`pip list/show/freeze`, `npm ls`, `go env`, `dpkg -l`, `apt-cache`).

Everything else these programs do runs project code, installs software or uses the
network, so it stays denied.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from rho_agent.permissions.shell._options import denied_hit, first_unlisted, getopt
from rho_agent.permissions.shell._reasons import SUGGEST, bad_option, computed
from rho_agent.permissions.shell._rules import Check, Context
from rho_agent.permissions.shell._syntax import Word, lit_word, names

_INTERPRETER = "it is a language interpreter that can do anything"
_RUNS_PROJECT = "it installs software, builds or runs project code"

#: Programs allowed only to print their version: name -> (version arguments, why not more).
#: Not yarn or pnpm: their --version runs the release a project's config names. The rustup
#: proxies (cargo, rustc) pick the toolchain a project's rust-toolchain.toml names.
_VERSION_ONLY: MappingProxyType[str, tuple[frozenset[str], str]] = MappingProxyType({
    **dict.fromkeys(("node", "nodejs"), (names("--version -v"), _INTERPRETER)),
    "perl": (names("--version -v"), _INTERPRETER),
    "ruby": (names("--version"), _INTERPRETER),  # ruby -v then reads a program from stdin
    "php": (names("--version -v"), _INTERPRETER),
    "java": (names("-version --version"), _INTERPRETER),
    "javac": (names("-version --version"), _RUNS_PROJECT),
    **dict.fromkeys(("cargo", "rustc"), (names("--version -V -vV -Vv"), _RUNS_PROJECT)),
    **dict.fromkeys(("gcc", "g++", "cc", "c++", "clang", "clang++"),
                    (names("--version -dumpversion"), _RUNS_PROJECT)),
    **dict.fromkeys(("make", "cmake", "ninja", "tsc"),
                    (names("--version"), _RUNS_PROJECT)),
    "uv": (names("--version -V"), _RUNS_PROJECT),
})  # fmt: skip


def _version_only(ctx: Context, argv: list[Word]) -> str | None:
    name = argv[0].value.rpartition("/")[2]
    flags, why = _VERSION_ONLY[name]
    if len(argv) == 2 and argv[1].exact and argv[1].value in flags:
        return None
    shown = " or ".join(f"{name} {flag}" for flag in sorted(flags))
    return f"'{name}' is not allowed in read-only mode: {why} (only {shown} is). {SUGGEST}"


def _shown(name: str, word: Word | None) -> str:
    return f"{name} {word.raw}" if word is not None else name


# python and pip ------------------------------------------------------------------------

_PYTHON_FLAGS = names("-I -E -s -P -B -q -u")  # isolation and quiet flags that run nothing


def _check_python(ctx: Context, argv: list[Word]) -> str | None:
    """`python --version` and `python -m pip` with pip's listing subcommands."""
    name, words = argv[0].value.rpartition("/")[2], argv[1:]
    if len(words) == 1 and words[0].exact and words[0].value in ("-V", "--version", "-VV"):
        return None
    i = 0
    while i < len(words) and words[i].exact and words[i].value in _PYTHON_FLAGS:
        i += 1
    module = [w.value if w.exact else None for w in words[i : i + 2]]
    if module == ["-m", "pip"] or module[:1] == ["-mpip"]:
        skip = 2 if module[0] == "-m" else 1
        return _pip_problem(f"{name} -m pip", words[i + skip :])
    return (
        f"'{name}' is not allowed in read-only mode: {_INTERPRETER} (only {name} --version "
        f"and {name} -m pip list/show/freeze are). {SUGGEST}"
    )


_PIP_READ = names("list show freeze check inspect")
_PIP_OPTIONS = names(
    "-q --quiet -v --verbose --isolated --no-color --disable-pip-version-check --no-input "
    "--require-virtualenv --no-python-version-warning -V --version -h --help "
    "-l --local --user --path --format --not-required --exclude-editable --include-editable "
    "-e --editable --exclude -f --files --all"
)
_PIP_VALUED = ("--path", "--format", "--exclude")
_PIP_NETWORK = ("--outdated", "--uptodate", "-o", "-u", "--index-url", "--extra-index-url")


def _check_pip(ctx: Context, argv: list[Word]) -> str | None:
    return _pip_problem(argv[0].value.rpartition("/")[2], argv[1:])


def _pip_problem(name: str, words: list[Word]) -> str | None:
    """pip list/show/freeze/check/inspect read installed metadata; --outdated asks an index."""
    opts = getopt(words, "", _PIP_VALUED)
    if opts.unknown:
        return computed(name, opts.unknown)
    sub = opts.operands[0] if opts.operands else None
    for option in _PIP_NETWORK:
        if hit := denied_hit(opts, words, option):
            return bad_option(_shown(name, sub), hit, "it asks a package index over the network")
    if sub is None and opts.names() & {"-V", "--version", "-h", "--help"}:
        return None
    if sub is None or not sub.exact or sub.value not in _PIP_READ:
        return (
            f"'{_shown(name, sub)}' is not allowed in read-only mode: {_RUNS_PROJECT}, or uses "
            f"the network. Use {name} list, {name} show PACKAGE or {name} freeze."
        )
    if bad := first_unlisted(opts, _PIP_OPTIONS):
        return bad_option(name, bad, "read-only mode allows only the listing options")
    return None


# npm, go ---------------------------------------------------------------------------------

_NPM_READ = names("ls list ll la root prefix")
_NPM_OPTIONS = names(
    "-v --version -a --all --depth --json --long -l --parseable -p -g --global --omit "
    "--include --link --production --dev --package-lock-only --unicode --no-unicode "
    "--workspaces --include-workspace-root -w --workspace"
)


def _check_npm(ctx: Context, argv: list[Word]) -> str | None:
    """`npm ls` and `npm --version`; any other option could set npm configuration."""
    opts = getopt(argv[1:], "w", ("--depth", "--omit", "--include", "--workspace"))
    if opts.unknown:
        return computed("npm", opts.unknown)
    sub = opts.operands[0] if opts.operands else None
    if sub is None and opts.names() & {"-v", "--version"}:
        return None
    if sub is None or not sub.exact or sub.value not in _NPM_READ:
        return (
            f"'{_shown('npm', sub)}' is not allowed in read-only mode: {_RUNS_PROJECT}, or uses "
            "the network. "
            "Use npm ls or npm --version."
        )
    if bad := first_unlisted(opts, _NPM_OPTIONS):
        return bad_option("npm", bad, "it sets npm configuration; only listing options are allowed")
    return None


def _check_go(ctx: Context, argv: list[Word]) -> str | None:
    """`go version [-m] [FILE]` and `go env [NAME]` (not -w/-u, which write the config)."""
    sub = argv[1].value if len(argv) > 1 and argv[1].exact else None
    allowed = {"version": ("-m", "-v"), "env": ("-json",)}.get(sub or "")
    if allowed is None:
        shown = _shown("go", argv[1] if len(argv) > 1 else None)
        return f"'{shown}' is not allowed in read-only mode: {_RUNS_PROJECT}. Use go version or go env."
    opts = getopt(argv[2:])
    if opts.unknown:
        return computed(f"go {sub}", opts.unknown)
    if bad := first_unlisted(opts, allowed):
        return bad_option(f"go {sub}", bad, "it changes the go configuration")
    return None


# Debian packages -------------------------------------------------------------------------

_DPKG_READ = names(
    "-l --list -L --listfiles -s --status -S --search -p --print-avail --get-selections "
    "--print-architecture --print-foreign-architectures --version --help -V"
)
_APT_CACHE_READ = names(
    "show showpkg showsrc policy search depends rdepends madison pkgnames stats unmet"
)
_APT_READ = names("list show search policy depends rdepends")
_APT_OPTIONS = names(
    "-n --names-only -f --full -a --all-versions --installed --upgradable --manual-installed "
    "-i --important --recurse -q --quiet -h --help -v --version"
)


def _check_dpkg(ctx: Context, argv: list[Word]) -> str | None:
    opts = getopt(argv[1:])
    if opts.unknown:
        return computed("dpkg", opts.unknown)
    bad = first_unlisted(opts, _DPKG_READ)
    if bad or not opts.opts:
        return (
            f"'{_shown('dpkg', lit_word(bad) if bad else None)}' is not allowed in read-only "
            "mode: it installs or removes packages. Use dpkg -l, dpkg -L PACKAGE, dpkg -s "
            "PACKAGE or dpkg -S FILE."
        )
    return None


def _apt_rule(name: str, subcommands: frozenset[str]) -> Check:
    def check(ctx: Context, argv: list[Word]) -> str | None:
        return _subcommand_problem(name, argv[1:], subcommands, _APT_OPTIONS)

    return check


def _subcommand_problem(
    name: str, words: list[Word], subcommands: Iterable[str], options: frozenset[str]
) -> str | None:
    opts = getopt(words)
    if opts.unknown:
        return computed(name, opts.unknown)
    sub = opts.operands[0] if opts.operands else None
    if sub is None or not sub.exact or sub.value not in subcommands:
        use = " or ".join(f"{name} {s}" for s in sorted(subcommands))
        return (
            f"'{_shown(name, sub)}' is not allowed in read-only mode: it installs, removes or "
            f"downloads packages. Use {use}."
        )
    if bad := first_unlisted(opts, options):
        return bad_option(name, bad, "read-only mode allows only the listing options")
    return None


TOOLCHAIN_CHECKS: MappingProxyType[str, Check] = MappingProxyType({
    **dict.fromkeys(_VERSION_ONLY, _version_only),
    "python": _check_python, "python3": _check_python,
    "pip": _check_pip, "pip3": _check_pip, "npm": _check_npm, "go": _check_go,
    "dpkg": _check_dpkg, "apt-cache": _apt_rule("apt-cache", _APT_CACHE_READ),
    "apt": _apt_rule("apt", _APT_READ),
})  # fmt: skip
