"""Linux without usable user namespaces: Landlock, through a small launcher process.

`python -m rho_agent.sandbox._landlock_exec [--write PATH]... [--no-network] -- COMMAND...`
restricts itself and then execs COMMAND. Landlock is an unprivileged LSM (Linux 5.13+):
once a process restricts itself, neither it nor its children can lose the restriction.

What it enforces: every filesystem change (writing, truncating, creating, removing,
renaming, linking) only beneath the `--write` paths, plus writing to the harmless
devices (`/dev/null`...); no access to processes outside the sandbox (so
`/proc/$PPID/environ` of the agent cannot be read and the agent cannot be signalled,
ABI 6); TCP connect/bind refused when `--no-network` (ABI 4), and Unix sockets too (a
seccomp filter, `rho_agent.sandbox._seccomp`). What it cannot: hide other processes from
`ps` (their environments stay unreadable), UDP traffic, and a private `/tmp` (a throwaway directory is made writable and named in TMPDIR
instead). bubblewrap is preferred where it works; see `rho_agent.sandbox._launcher`.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys

_SYS_CREATE_RULESET = 444  # the same number on every architecture (added after the unification)
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# The filesystem access rights that change something (reading and executing stay allowed,
# so they are never handled), with the ABI that introduced the later ones.
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE, _MAKE_CHAR = 1 << 1, 1 << 4, 1 << 5, 1 << 6
_MAKE_DIR, _MAKE_REG, _MAKE_SOCK, _MAKE_FIFO = 1 << 7, 1 << 8, 1 << 9, 1 << 10
_MAKE_BLOCK, _MAKE_SYM = 1 << 11, 1 << 12
_REFER = 1 << 13  # ABI 2
_TRUNCATE = 1 << 14  # ABI 3
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

_FILE_RIGHTS_WRITE = _WRITE_FILE | _TRUNCATE
#: Devices any command may write to (discarding output, reading its terminal).
_WRITABLE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx")


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI (0: none, or not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = _libc()
    version = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


def _write_rights(abi: int) -> int:
    rights = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE_CHAR | _MAKE_DIR | _MAKE_REG
    rights |= _MAKE_SOCK | _MAKE_FIFO | _MAKE_BLOCK | _MAKE_SYM
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    return rights


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock: {what}: {os.strerror(err)}")
    return result


def restrict_self(writable: list[str], *, network: bool) -> None:
    """Restrict this process (and what it execs) to writes beneath `writable`."""
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    libc = _libc()
    handled_fs = _write_rights(abi)
    handled_net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if (abi >= 4 and not network) else 0
    scoped = (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0
    if abi >= 6:
        attr = struct.pack("=QQQ", handled_fs, handled_net, scoped)
    elif abi >= 4:
        attr = struct.pack("=QQ", handled_fs, handled_net)
    else:
        attr = struct.pack("=Q", handled_fs)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _check(
        libc.syscall(_SYS_CREATE_RULESET, buf, ctypes.c_size_t(len(attr)), 0), "create"
    )
    try:
        for path in writable:
            _allow(libc, ruleset, path, handled_fs)
        for device in _WRITABLE_DEVICES:
            _allow(libc, ruleset, device, _FILE_RIGHTS_WRITE & handled_fs)
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0), "restrict_self")
    finally:
        os.close(ruleset)


def _allow(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist grants nothing
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS_WRITE  # only file rights may be granted on a file
        attr = struct.pack("=Qi", rights, fd)  # struct landlock_path_beneath_attr is packed
        buf = ctypes.create_string_buffer(attr, len(attr))
        _check(libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, buf, 0), f"allow {path}")
    finally:
        os.close(fd)
