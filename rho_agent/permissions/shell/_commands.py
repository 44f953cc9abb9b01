"""Which commands are checked by a rule, which take any arguments, and why the rest are denied."""

from __future__ import annotations

from types import MappingProxyType

from rho_agent.permissions.shell._archives import (
    check_compressor,
    check_tar,
    check_unzip,
    check_zipinfo,
)
from rho_agent.permissions.shell._coreutils import (
    check_date,
    check_file,
    check_hostname,
    check_printf,
    check_rg,
    check_shuf,
    check_sort,
    check_tee,
    check_test,
    check_tree,
    check_uniq,
    check_xxd,
)
from rho_agent.permissions.shell._git import check_git
from rho_agent.permissions.shell._reasons import SUGGEST
from rho_agent.permissions.shell._rules import Check
from rho_agent.permissions.shell._syntax import names
from rho_agent.permissions.shell._text_tools import check_awk, check_sed
from rho_agent.permissions.shell._toolchains import TOOLCHAIN_CHECKS
from rho_agent.permissions.shell._variables import (
    check_declare,
    check_read,
    check_set,
    check_unset,
)
from rho_agent.permissions.shell._wrappers import WRAPPERS, check_find, check_wrapper

CHECKS: MappingProxyType[str, Check] = MappingProxyType({
    "printf": check_printf, "test": check_test, "[": check_test, "tee": check_tee,
    "sort": check_sort, "shuf": check_shuf, "uniq": check_uniq, "xxd": check_xxd,
    "file": check_file, "tree": check_tree, "rg": check_rg, "date": check_date,
    "hostname": check_hostname, "sed": check_sed, "find": check_find, "git": check_git,
    "tar": check_tar, "unzip": check_unzip, "zipinfo": check_zipinfo,
    **dict.fromkeys(("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "lzma", "unlzma",
                     "zstd", "unzstd"), check_compressor),
    **TOOLCHAIN_CHECKS,
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), check_awk),
    **dict.fromkeys(WRAPPERS, check_wrapper),
    **dict.fromkeys(("export", "declare", "typeset", "local", "readonly"), check_declare),
    "unset": check_unset, "set": check_set, "read": check_read,
})  # fmt: skip

#: Commands whose arguments cannot make them write, run other programs or use the network.
ANY_ARGUMENTS = names(
    "ls cat head tail wc cut tr nl tac rev fold fmt pr expand unexpand column paste join comm "
    "diff cmp stat du df pwd echo true false : basename dirname realpath readlink which type "
    "whoami id groups logname uname arch nproc uptime free ps tty locale getconf printenv "
    "grep egrep fgrep zcat bzcat xzcat jq md5sum sha1sum sha224sum sha256sum sha384sum sha512sum "
    "b2sum cksum sum base64 base32 hexdump od strings seq sleep yes expr numfmt factor cal "
    "cd pushd popd dirs wait jobs exit return break continue shift times "
    "pgrep pidof whereis lscpu getent dpkg-query"
)

_DENIED_KINDS: tuple[tuple[frozenset[str], str], ...] = (
    (names("rm rmdir mv cp touch mkdir ln chmod chown chgrp truncate dd install shred mkfifo "
            "mknod unlink patch split csplit ed ex sponge zip 7z"),
     "it changes files"),
    (names("curl wget ssh scp sftp nc ncat netcat telnet ftp socat rsync ping"),
     "it uses the network"),
    # pip, npm, go, dpkg, apt, node, java, cargo, make...: see toolchains (listing, versions)
    (names("pipx npx yarn pnpm apt-get brew gem conda mamba poetry bundle composer apk yum dnf"),
     "it installs software or runs project code"),
    (names("python2 deno bun lua R Rscript julia irb tclsh pwsh"),
     "it is a language interpreter that can do anything"),
    (names("gradle mvn ant bazel"), "it builds or runs project code"),
    (names("sudo su doas pkexec runuser"), "it runs commands as another user"),
    (names("kill pkill killall shutdown reboot halt poweroff systemctl service"),
     "it controls processes or the system"),
    (names("less more most vi vim nano emacs top htop watch man"), "it is interactive"),
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


def unknown_command(name: str) -> str:
    if name in _DENIED_BUILTINS:
        return f"'{name}' is not allowed in read-only mode: {_DENIED_BUILTINS[name]}. {SUGGEST}"
    why = next((why for names, why in _DENIED_KINDS if name in names), None)
    return (
        f"'{name}' is not allowed in read-only mode: "
        f"{why or 'it is not one of the read-only commands'}. {SUGGEST}"
    )
