"""Per-command rules for `dangerous_reason`: which commands destroy data or state.

Each rule sees one command (after wrappers are unwrapped) and returns a short reason to
ask the user, or None. Categories: deletes or overwrites files, discards git work or
rewrites published history (`destructive_git`), changes permissions of a tree, needs
elevated privileges, stops the machine or kills processes, writes disks, deletes data
in databases, containers or cloud infrastructure, publishes or unpublishes packages,
removes system packages, runs code fetched or computed at run time.

Long options count in any unambiguous abbreviation (`rm --recursiv --forc`), as GNU
getopt and git accept them; an ambiguous one is counted too, since asking is cheap.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import MappingProxyType

from rho_agent.permissions.shell._destructive_git import git_danger
from rho_agent.permissions.shell._syntax import Word, names
from rho_agent.permissions.shell._wrappers import parse_find


@dataclass
class Call:
    """One command as the rules see it."""

    name: str  # argv[0] without its directory
    argv: list[Word]
    piped: bool = False  # stdin comes from the previous command of a pipeline
    stdin: list[Word] = field(default_factory=list)  # heredoc bodies and here-strings

    @property
    def words(self) -> list[Word]:
        return self.argv[1:]

    @property
    def args(self) -> list[str]:
        return [w.value for w in self.argv[1:]]


_Rule = Callable[[Call], "str | None"]


def _options(words: Iterable[Word]) -> tuple[str, list[str]]:
    """Short option letters and long option names (without `=value`) before `--`."""
    short, longs = "", []
    for word in words:
        value = word.value
        if value == "--":
            break
        if value.startswith("--"):
            longs.append(value.partition("=")[0])
        elif value.startswith("-") and len(value) > 1:
            short += value[1:]
    return short, longs


def _long(longs: list[str], *options: str) -> bool:
    """One of `options` given, in full or abbreviated to at least one letter."""
    return any(len(name) >= 3 and option.startswith(name) for name in longs for option in options)


def _has(call: Call, letters: str, *options: str) -> bool:
    short, longs = _options(call.words)
    return bool(set(short) & set(letters)) or _long(longs, *options)


def _operands(words: list[Word]) -> list[Word]:
    out, options = [], True
    for word in words:
        if options and word.exact and word.value == "--":
            options = False
        elif not (options and word.exact and word.value.startswith("-") and word.value != "-"):
            out.append(word)
    return out


_SYSTEM_DIRS = re.compile(r"/(etc|usr|bin|sbin|lib\w*|boot|sys|proc|var|opt|root)?(/|$)")


def is_outside(word: Word) -> bool:
    """A path in the user's home or a system directory (or / itself): outside any project."""
    raw = word.raw.lstrip("\"'")
    if raw.startswith(("~", "$HOME", "${HOME")):
        return True
    value = word.value
    return bool(_SYSTEM_DIRS.match(value)) and not value.startswith(("/var/tmp/", "/dev/"))


# files -----------------------------------------------------------------------------------


def _rm(call: Call) -> str | None:
    """Plain `rm FILE` of named files is an ordinary edit (git or the editor can restore
    them); recursive, forced, glob- or variable-named, and system or home paths are not."""
    if _has(call, "rRf", "--recursive", "--force", "--no-preserve-root"):
        return "rm -r/-f deletes files recursively or without asking"
    for word in _operands(call.words):
        if is_outside(word):
            return f"rm deletes {word.raw}, outside the project"
        if not word.exact:
            return f"rm deletes files named by '{word.raw}', which are only known when it runs"
    return None


def _mv(call: Call) -> str | None:
    if _has(call, "nib", "--no-clobber", "--interactive", "--backup"):
        return None
    return "mv replaces its target if it exists (mv -n never does)"


def _replaces(flag: str) -> _Rule:
    def rule(call: Call) -> str | None:
        if _has(call, "f", "--force", "--remove-destination"):
            return f"{call.name} {flag} replaces existing files"
        operands = _operands(call.words)
        if call.name == "cp" and operands and is_outside(operands[-1]):
            return f"cp writes to {operands[-1].raw}, outside the project"
        if call.name == "cp" and "/dev/null" in [w.value for w in operands[:-1]]:
            return f"cp /dev/null empties {operands[-1].raw}"
        return None

    return rule


def _tee(call: Call) -> str | None:
    outside = next((w for w in _operands(call.words) if is_outside(w)), None)
    return f"tee writes to {outside.raw}, outside the project" if outside else None


def _always(reason: str) -> _Rule:
    return lambda call: reason.format(name=call.name)


def _recursive_mode(call: Call) -> str | None:
    if _has(call, "R", "--recursive"):
        return f"{call.name} -R changes permissions of a whole tree"
    outside = next((w for w in _operands(call.words)[1:] if is_outside(w)), None)
    return f"{call.name} changes {outside.raw}, outside the project" if outside else None


def _find(call: Call) -> str | None:
    return "find -delete deletes files" if parse_find(call.argv).writes == "-delete" else None


def _rsync(call: Call) -> str | None:
    _, longs = _options(call.words)
    deletes = [
        n for n in longs if n.startswith("--del") or n in ("--remove-source-files", "--force")
    ]
    return f"rsync {deletes[0]} deletes files" if deletes else None


# processes and the machine ---------------------------------------------------------------


_HARD_SIGNALS = names("9 KILL SIGKILL kill sigkill")


def _kill(call: Call) -> str | None:
    args = call.args
    named = [b for a, b in itertools.pairwise(args) if a in ("-s", "-n", "--signal")]
    attached = [a[2:] for a in args if a[:2] in ("-s", "-n") and len(a) > 2]
    attached += [a[1:] for a in args if a[:1] == "-"] + [
        a[9:] for a in args if a.startswith("--signal=")
    ]
    if set(named + attached) & _HARD_SIGNALS:
        return "kill -9 kills processes without letting them clean up"
    return None


def _init(call: Call) -> str | None:
    return "init shuts down or restarts the machine" if call.args[:1] in (["0"], ["6"]) else None


def _systemctl(call: Call) -> str | None:
    if set(call.args) & {"poweroff", "reboot", "halt", "kexec"}:
        return "systemctl shuts down or restarts the machine"
    return None


def _crontab(call: Call) -> str | None:
    return "crontab -r deletes all scheduled jobs" if _has(call, "r") else None


# data stores, containers, infrastructure, registries -------------------------------------

_SQL_DESTROYS = re.compile(r"\b(drop|truncate|delete)\b", re.IGNORECASE)
_SQL_OPTIONS = names("-c --command -e --execute -Q -q --cmd")  # options whose value is SQL


def _sql(call: Call) -> str | None:
    """SQL given on the command line or in a heredoc; a script file is not read."""
    words = [*call.words, *call.stdin]
    if m := next(filter(None, (_SQL_DESTROYS.search(w.value) for w in words if w.exact)), None):
        return f"{call.name} runs SQL that deletes data ({m.group().upper()})"
    if any(not w.exact for w in _sql_words(call)):
        return f"{call.name} runs SQL that is only known when it runs, so it could not be checked"
    return None


def _sql_words(call: Call) -> list[Word]:
    """The words that hold SQL: values of -c/-e..., sqlite3's operands after the
    database, and stdin text."""
    values = [b for a, b in itertools.pairwise(call.words) if a.exact and a.value in _SQL_OPTIONS]
    if call.name in ("sqlite3", "duckdb"):
        values += _operands(call.words)[1:]
    return values + call.stdin


def _redis(call: Call) -> str | None:
    hit = next((a for a in call.args if a.lower() in ("flushall", "flushdb")), None)
    return f"redis-cli {hit} deletes every key" if hit else None


def _subcommands(words: list[Word], valued: frozenset[str]) -> list[str]:
    """Non-option words, skipping the values of the global options in `valued`."""
    out, skip = [], False
    for word in words:
        value = word.value
        if skip:
            skip = False
        elif value.startswith("-"):
            skip = value in valued
        else:
            out.append(value)
    return out


_DOCKER_VALUED = names("-H --host -c --context --config -l --log-level -f --file -p --project-name")
_DOCKER_OBJECTS = names("container image volume network system builder buildx plugin secret config node service stack context")  # fmt: skip
_DOCKER_REMOVES = names("rm rmi remove prune kill delete down")


def _docker(call: Call) -> str | None:
    subs = _subcommands(call.words, _DOCKER_VALUED)
    name = call.name
    if name == "docker-compose":
        name, subs = "docker", ["compose", *subs]
    head = subs[:1]
    if head in (["rm"], ["rmi"], ["kill"]):
        return f"{name} {head[0]} deletes containers or images"
    if head == ["push"]:
        return f"{name} push publishes an image to a registry"
    if head == ["compose"] and subs[1:2] == ["down"]:
        volumes = _has(call, "v", "--volumes", "--rmi")
        return f"{name} compose down -v deletes volumes and images" if volumes else None
    objects = head and (head[0] in _DOCKER_OBJECTS or head[0] == "compose")
    if objects and subs[1:2] and subs[1] in _DOCKER_REMOVES:
        return f"{name} {' '.join(subs[:2])} deletes containers, images, volumes or their data"
    return None


_KUBE_VALUED = names("-n --namespace --context --kubeconfig --cluster --user -s --server --token")


def _kubectl(call: Call) -> str | None:
    sub = _subcommands(call.words, _KUBE_VALUED)[:1]
    if sub in (["delete"], ["drain"]):
        return f"{call.name} {sub[0]} deletes or evicts cluster resources"
    return None


def _subcommand_rule(reasons: dict[tuple[str, ...], str], valued: str = "") -> _Rule:
    """A rule for CLIs whose destructive operations are subcommands (`helm uninstall`)."""
    table = MappingProxyType(dict(reasons))
    valued_set = names(valued)

    def rule(call: Call) -> str | None:
        subs = tuple(_subcommands(call.words, valued_set))
        for key, why in table.items():
            if subs[: len(key)] == key:
                return f"{call.name} {' '.join(key)} {why}"
        return None

    return rule


def _terraform(call: Call) -> str | None:
    subs = _subcommands(call.words, frozenset())
    if subs[:1] == ["destroy"] or (subs[:1] == ["apply"] and "-destroy" in call.args):
        return f"{call.name} destroy deletes the infrastructure it manages"
    if subs[:2] in (["state", "rm"], ["workspace", "delete"]):
        return f"{call.name} {' '.join(subs[:2])} deletes state"
    return None


def _cloud(call: Call) -> str | None:
    """aws/gcloud/az/gsutil: a delete, remove or terminate operation anywhere."""
    for arg in _subcommands(call.words, frozenset()):
        if arg in ("delete", "rm", "rb", "destroy") or arg.startswith(("delete-", "terminate-")):
            return f"{call.name} {arg} deletes cloud resources"
    return None


_PUBLISHES = "publishes to a package registry, which cannot be taken back"
_UNINSTALLS = "removes system packages"


def _dpkg(call: Call) -> str | None:
    return f"dpkg {_UNINSTALLS}" if _has(call, "rP", "--remove", "--purge") else None


def _pacman(call: Call) -> str | None:
    return f"pacman {_UNINSTALLS}" if _has(call, "R", "--remove") else None


# shells ------------------------------------------------------------------------------------

_SHELLS = names("sh bash dash zsh ksh mksh fish python python3 perl ruby node")


def _shell(call: Call) -> str | None:
    """A shell or interpreter reading its program from a pipe or a substitution."""
    first = call.words[0] if call.words else None
    if call.piped and not [a for a in call.args if not a.startswith("-")]:
        return f"it pipes data into {call.name}, which runs it as a program"
    if first is not None and first.proc_only:
        return f"{call.name} runs a script produced by another command"
    short, _ = _options(call.words)
    if "c" in short and not all(w.exact for w in call.words):
        return f"{call.name} runs a command string that is only known when it runs"
    return None


def _eval(call: Call) -> str | None:
    if all(w.exact for w in call.words):
        return None
    return "eval runs a command string that is only known when it runs"


_DISK = "{name} can overwrite disks or files irrecoverably"
_PRIVILEGED = "{name} runs commands with elevated privileges"
_SHUTDOWN = "{name} shuts down or restarts the machine"
_KILLS = "{name} kills processes by name"
_PACKAGE_REMOVAL = {("remove",): _UNINSTALLS, ("purge",): _UNINSTALLS,
                    ("autoremove",): _UNINSTALLS, ("erase",): _UNINSTALLS}  # fmt: skip

_RULES: MappingProxyType[str, _Rule] = MappingProxyType({
    "rm": _rm, "mv": _mv, "cp": _replaces("-f"), "ln": _replaces("-f"), "tee": _tee,
    "shred": _always("shred overwrites files irrecoverably"),
    "truncate": _always("truncate cuts files to a size, destroying their contents"),
    **dict.fromkeys(names("dd wipefs fdisk sfdisk parted mkswap blkdiscard"), _always(_DISK)),
    **dict.fromkeys(("chmod", "chown", "chgrp"), _recursive_mode),
    "find": _find, "rsync": _rsync, "crontab": _crontab,
    **dict.fromkeys(names("sudo su doas pkexec runuser"), _always(_PRIVILEGED)),
    **dict.fromkeys(names("shutdown reboot halt poweroff"), _always(_SHUTDOWN)),
    "init": _init, "systemctl": _systemctl, "kill": _kill,
    **dict.fromkeys(("pkill", "killall"), _always(_KILLS)),
    **dict.fromkeys(names("sqlite3 psql mysql mariadb duckdb sqlcmd"), _sql),
    "redis-cli": _redis,
    **dict.fromkeys(names("docker podman nerdctl docker-compose"), _docker),
    **dict.fromkeys(("kubectl", "oc"), _kubectl),
    "helm": _subcommand_rule(dict.fromkeys([("uninstall",), ("delete",), ("del",), ("un",)],
                                           "deletes a release"), "-n --namespace --kube-context"),
    **dict.fromkeys(("terraform", "tofu"), _terraform),
    "pulumi": _subcommand_rule({("destroy",): "deletes the stack's resources",
                                ("stack", "rm"): "deletes a stack"}, "-s --stack -C --cwd"),
    **dict.fromkeys(names("aws gcloud az gsutil"), _cloud),
    **dict.fromkeys(("npm", "pnpm", "yarn"), _subcommand_rule(
        {("publish",): _PUBLISHES, ("unpublish",): "deletes a published package",
         ("npm", "publish"): _PUBLISHES}, "-w --workspace")),
    "cargo": _subcommand_rule({("publish",): _PUBLISHES, ("yank",): "withdraws a published version"}),
    "gem": _subcommand_rule({("push",): _PUBLISHES, ("yank",): "withdraws a published version"}),
    "twine": _subcommand_rule({("upload",): _PUBLISHES}),
    **dict.fromkeys(names("poetry uv hatch flit"), _subcommand_rule({("publish",): _PUBLISHES})),
    **dict.fromkeys(names("apt apt-get aptitude yum dnf zypper"), _subcommand_rule(
        _PACKAGE_REMOVAL, "-o --option -c --config-file -t --target-release")),
    "brew": _subcommand_rule({("uninstall",): _UNINSTALLS, ("remove",): _UNINSTALLS}),
    "dpkg": _dpkg, "pacman": _pacman,
    **dict.fromkeys(_SHELLS, _shell), "eval": _eval,
})  # fmt: skip


def danger_rule(call: Call) -> str | None:
    if call.name == "git":
        return git_danger(call.words)
    if call.name.startswith(("mkfs", "mke2fs")):
        return _DISK.format(name=call.name)
    rule = _RULES.get(call.name)
    return rule(call) if rule is not None else None
