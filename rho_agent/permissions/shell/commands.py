"""Which commands are checked by a rule, which take any arguments, and why the rest are denied."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from rho_agent.permissions.shell.archives import (
    _check_compressor,
    _check_tar,
    _check_unzip,
    _check_zipinfo,
)
from rho_agent.permissions.shell.coreutils import (
    _check_date,
    _check_file,
    _check_hostname,
    _check_printf,
    _check_rg,
    _check_shuf,
    _check_sort,
    _check_tee,
    _check_test,
    _check_tree,
    _check_uniq,
    _check_xxd,
)
from rho_agent.permissions.shell.git import _check_git
from rho_agent.permissions.shell.reasons import _SUGGEST
from rho_agent.permissions.shell.syntax import _names
from rho_agent.permissions.shell.text_tools import _check_awk, _check_sed
from rho_agent.permissions.shell.toolchains import _TOOLCHAIN_CHECKS
from rho_agent.permissions.shell.variables import (
    _check_declare,
    _check_read,
    _check_set,
    _check_unset,
)
from rho_agent.permissions.shell.wrappers import _WRAPPERS, _check_find, _check_wrapper

if TYPE_CHECKING:
    from rho_agent.permissions.shell.readonly import _Check


_CHECKS: MappingProxyType[str, _Check] = MappingProxyType({
    "printf": _check_printf, "test": _check_test, "[": _check_test, "tee": _check_tee,
    "sort": _check_sort, "shuf": _check_shuf, "uniq": _check_uniq, "xxd": _check_xxd,
    "file": _check_file, "tree": _check_tree, "rg": _check_rg, "date": _check_date,
    "hostname": _check_hostname, "sed": _check_sed, "find": _check_find, "git": _check_git,
    "tar": _check_tar, "unzip": _check_unzip, "zipinfo": _check_zipinfo,
    **dict.fromkeys(("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "lzma", "unlzma",
                     "zstd", "unzstd"), _check_compressor),
    **_TOOLCHAIN_CHECKS,
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), _check_awk),
    **dict.fromkeys(_WRAPPERS, _check_wrapper),
    **dict.fromkeys(("export", "declare", "typeset", "local", "readonly"), _check_declare),
    "unset": _check_unset, "set": _check_set, "read": _check_read,
})  # fmt: skip

#: Commands whose arguments cannot make them write, run other programs or use the network.
_ANY_ARGUMENTS = _names(
    "ls cat head tail wc cut tr nl tac rev fold fmt pr expand unexpand column paste join comm "
    "diff cmp stat du df pwd echo true false : basename dirname realpath readlink which type "
    "whoami id groups logname uname arch nproc uptime free ps tty locale getconf printenv "
    "grep egrep fgrep zcat bzcat xzcat jq md5sum sha1sum sha224sum sha256sum sha384sum sha512sum "
    "b2sum cksum sum base64 base32 hexdump od strings seq sleep yes expr numfmt factor cal "
    "cd pushd popd dirs wait jobs exit return break continue shift times "
    "pgrep pidof whereis lscpu getent dpkg-query"
)

_DENIED_KINDS: tuple[tuple[frozenset[str], str], ...] = (
    (_names("rm rmdir mv cp touch mkdir ln chmod chown chgrp truncate dd install shred mkfifo "
            "mknod unlink patch split csplit ed ex sponge zip 7z"),
     "it changes files"),
    (_names("curl wget ssh scp sftp nc ncat netcat telnet ftp socat rsync ping"),
     "it uses the network"),
    # pip, npm, go, dpkg, apt, node, java, cargo, make...: see toolchains (listing, versions)
    (_names("pipx npx yarn pnpm apt-get brew gem conda mamba poetry bundle composer apk yum dnf"),
     "it installs software or runs project code"),
    (_names("python2 deno bun lua R Rscript julia irb tclsh pwsh"),
     "it is a language interpreter that can do anything"),
    (_names("gradle mvn ant bazel"), "it builds or runs project code"),
    (_names("sudo su doas pkexec runuser"), "it runs commands as another user"),
    (_names("kill pkill killall shutdown reboot halt poweroff systemctl service"),
     "it controls processes or the system"),
    (_names("less more most vi vim nano emacs top htop watch man"), "it is interactive"),
)  # fmt: skip
_DENIED_BUILTINS = MappingProxyType({
    "eval": "it runs a string as commands, which cannot be checked; run the commands directly",
    "source": "it runs commands from a file, which cannot be checked",
    ".": "it runs commands from a file, which cannot be checked",
    "exec": "it replaces the shell with another program",
    "alias": "an alias could make a read-only name run something else",
    "trap": "it runs a command string later",
    "hash": "it can remap command names to other programs",
    "enable": "it can load or disable shell builtins",
    "shopt": "it changes how later commands are parsed",
    "let": "it evaluates arithmetic, which can run code hidden in variables",
    "mapfile": "its -C callback runs commands",
    "readarray": "its -C callback runs commands",
    "compgen": "its -C option runs commands",
    "complete": "it changes completion, which can run commands",
    "fc": "it re-runs commands from history",
    "history": "it can write the history file",
    "coproc": "it starts a background command with pipes",
})  # fmt: skip


def _unknown_command(name: str) -> str:
    if name in _DENIED_BUILTINS:
        return f"'{name}' is not allowed in read-only mode: {_DENIED_BUILTINS[name]}. {_SUGGEST}"
    why = next((why for names, why in _DENIED_KINDS if name in names), None)
    return (
        f"'{name}' is not allowed in read-only mode: "
        f"{why or 'it is not one of the read-only commands'}. {_SUGGEST}"
    )
