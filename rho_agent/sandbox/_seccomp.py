"""A seccomp filter that refuses to create Unix sockets, for commands without network.

A network namespace (bubblewrap) or Landlock's TCP rules close the IP network, but a
Unix socket on a path the command can see (a user daemon's socket in the home or the
working dir: rootless Docker, an SSH or GPG agent, an IDE) can still be connected to,
read-only mount or not, and such a daemon may act for the command. The filter makes
`socket(AF_UNIX, ...)` fail with EACCES; `socketpair`, which only links a process to its
own children, stays allowed. Foreign-architecture system calls (32-bit ones on x86-64,
where `socketcall` would go around the filter) are refused too.

Classic BPF over `struct seccomp_data` (nr at 0, arch at 4, args[0] at 16, low word first on
these little-endian machines). Only x86-64 and AArch64 are known; elsewhere there is no
filter (`program()` returns None) and the rest of the sandbox still holds.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

_LD_ABS_W = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_RET_ALLOW = 0x7FFF0000
_RET_EACCES = 0x00050000 | errno.EACCES
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16
_AF_UNIX = 1
_X32_BIT = 0x40000000

#: machine → (AUDIT_ARCH_*, the numbers of socket(2) to check).
_ARCHES = {
    "x86_64": (0xC000003E, (41, 41 | _X32_BIT)),
    "aarch64": (0xC00000B7, (198,)),
}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter as `struct sock_filter` records, or None on an unknown architecture."""
    known = _ARCHES.get(machine or platform.machine())
    if known is None:
        return None
    arch, socket_numbers = known
    n = len(socket_numbers)
    # Layout: 0 load arch; 1 arch ok?; 2 load nr; 3..3+n-1 socket?; allow; 3+n+1 load arg0;
    # AF_UNIX?; allow; deny. Jumps count the instructions skipped.
    check = 3 + n + 1  # index of "load arg0"
    deny = check + 3
    out = [_insn(_LD_ABS_W, _OFFSET_ARCH), _insn(_JEQ_K, arch, 0, deny - 2)]
    out.append(_insn(_LD_ABS_W, _OFFSET_NR))
    for i, number in enumerate(socket_numbers):
        here = 3 + i
        out.append(_insn(_JEQ_K, number, check - here - 1, 0))
    out.append(_insn(_RET_K, _RET_ALLOW))
    out.append(_insn(_LD_ABS_W, _OFFSET_ARG0))
    out.append(_insn(_JEQ_K, _AF_UNIX, 1, 0))
    out.append(_insn(_RET_K, _RET_ALLOW))
    out.append(_insn(_RET_K, _RET_EACCES))
    return b"".join(out)


def program_fd() -> int | None:
    """A fresh descriptor holding `program()`, for bwrap's `--seccomp FD` (which reads it to
    the end, so each command needs its own); None on an unknown architecture."""
    code = program()
    if code is None:
        return None
    fd = os.memfd_create("rho-agent-seccomp", os.MFD_CLOEXEC)
    os.write(fd, code)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def apply_to_self() -> None:
    """Install the filter on this process (no_new_privs must be set already)."""
    code = program()
    if code is None:
        return
    prog = _SockFprog(len(code) // 8, code)
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_seccomp, seccomp_mode_filter = 22, 2
    if libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
