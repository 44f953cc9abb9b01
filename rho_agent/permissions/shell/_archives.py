"""Read-only rules for archives: listing, testing and printing, never extracting or creating."""

from __future__ import annotations

from rho_agent.permissions.shell._options import first_unlisted, getopt, values
from rho_agent.permissions.shell._reasons import bad_option, computed, not_read_only
from rho_agent.permissions.shell._rules import Context
from rho_agent.permissions.shell._syntax import Word, lit_word, may_be_option, names

# tar -------------------------------------------------------------------------------------

_TAR_ALLOWED = names("-t --list -v --verbose -f --file -z --gzip --gunzip -j --bzip2 -J --xz --zstd -a --auto-compress --wildcards --no-wildcards --exclude --full-time --numeric-owner --utc")  # fmt: skip


def _tar_new_style(words: list[Word]) -> list[Word]:
    """Old-style `tar tfv a.tar`: each letter is an option, and letters that take a value
    take the following words in order (so the archive is a.tar, not "v")."""
    if not words or not words[0].exact or words[0].value.startswith("-"):
        return words
    out, rest = [], words[1:]
    for letter in words[0].value:
        out.append(lit_word("-" + letter))
        if letter in "fbCFgHIKLNTVX" and rest:
            out.append(rest.pop(0))
    return out + rest


def check_tar(ctx: Context, argv: list[Word]) -> str | None:
    opts = getopt(_tar_new_style(argv[1:]), "f", ("--file", "--exclude"))
    if opts.unknown:
        return computed("tar", opts.unknown)
    if not opts.names() & {"-t", "--list"}:
        return "'tar' is allowed only for listing an archive in read-only mode (tar -tf archive.tar); extracting or creating writes files."
    if bad := first_unlisted(opts, _TAR_ALLOWED):
        return not_read_only("tar", bad)
    for archive in values(opts, "-f", "--file"):
        if ":" in archive.value or not archive.exact:
            return f"'tar -f {archive.raw}' is not allowed in read-only mode: a name with ':' is a remote archive reached over the network."
    return None


# zip ---------------------------------------------------------------------------------------

_UNZIP_MODES = "lvtpcz"  # list, verbose list, test, print to stdout (plain, with names), comment
_UNZIP_FLAGS = frozenset(_UNZIP_MODES + "qCx")  # -q quiet, -C case-insensitive, -x excluded names
_ZIPINFO_FLAGS = frozenset("12smlvhtTzCx")  # every zipinfo option but the -M pager


def _option_letters(name: str, words: list[Word]) -> tuple[str, str | None]:
    """unzip and zipinfo read single-letter options anywhere (names after -x too), so
    every word that looks like an option counts. Returns (letters, problem)."""
    letters = ""
    for word in words:
        if not word.exact:
            if may_be_option(word):
                return letters, computed(name, word)
        elif word.value.startswith("-") and len(word.value) > 1:
            letters += word.value[1:]
    return letters, None


def check_unzip(ctx: Context, argv: list[Word]) -> str | None:
    words = argv[1:]
    first = words[0].value if words and words[0].exact else ""
    if first.startswith("-Z"):  # zipinfo mode: the rest are zipinfo's options
        rest = [lit_word("-" + first[2:])] if first[2:] else []
        return _zipinfo_problem("unzip -Z", rest + words[1:])
    letters, problem = _option_letters("unzip", words)
    if problem:
        return problem
    if bad := next((c for c in letters if c not in _UNZIP_FLAGS), None):
        return bad_option("unzip", f"-{bad}", "it extracts, overwrites or opens a pager")
    if not set(letters) & set(_UNZIP_MODES):
        return (
            "'unzip' is allowed only for listing, testing or printing an archive in read-only "
            "mode (unzip -l a.zip, unzip -t a.zip, unzip -p a.zip FILE); extracting writes files."
        )
    return None


def _zipinfo_problem(name: str, words: list[Word]) -> str | None:
    letters, problem = _option_letters(name, words)
    if problem:
        return problem
    if bad := next((c for c in letters if c not in _ZIPINFO_FLAGS), None):
        why = "it opens a pager" if bad == "M" else "read-only mode allows only the listing options"
        return bad_option(name, f"-{bad}", why)
    return None


def check_zipinfo(ctx: Context, argv: list[Word]) -> str | None:
    return _zipinfo_problem("zipinfo", argv[1:])


# gzip, xz, bzip2, zstd ------------------------------------------------------------------

_COMPRESSOR_READS = names("-c --stdout --to-stdout -l --list -t --test -h --help -V --version")
_COMPRESSOR_FLAGS = _COMPRESSOR_READS | names(
    "-d --decompress --uncompress -v --verbose -q --quiet -n --no-name -N --name -k --keep "
    "-1 -2 -3 -4 -5 -6 -7 -8 -9 --fast --best"
)


def check_compressor(ctx: Context, argv: list[Word]) -> str | None:
    """gzip and friends: only to stdout (-c), listing (-l) or testing (-t); otherwise they
    replace each file with its (de)compressed version."""
    name = argv[0].value.rpartition("/")[2]
    opts = getopt(argv[1:])
    if opts.unknown:
        return computed(name, opts.unknown)
    if bad := first_unlisted(opts, _COMPRESSOR_FLAGS):
        return not_read_only(name, bad)
    if not opts.names() & _COMPRESSOR_READS:
        return (
            f"'{name}' without -c, -l or -t is not allowed in read-only mode: it replaces files "
            f"with their (de)compressed versions. Use {name} -c FILE (to stdout), -l or -t."
        )
    return None
