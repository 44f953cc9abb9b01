"""What an uploaded directory leaves out: junk directories, `.gitignore`d files, secrets.

The secret lists follow the default locations each tool documents for its logins and keys,
and the default path rules of secret scanners (see the comment above `SECRET_FILES`).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: Directories never uploaded from inside an uploaded directory (the contract's list plus caches).
SKIP_DIRS = frozenset(
    {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox",
     ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)  # fmt: skip

# Credentials are left out of uploaded directories unless named on purpose (`--upload FILE:...`).
# The lists follow the default locations each tool documents for its logins and keys, and the
# default path rules of secret scanners (gitleaks, trufflehog): dotenv files; SSH keys; TLS/Java
# keystores; netrc, pip, npm and git logins; GitHub CLI (`~/.config/gh/hosts.yml`); Docker
# (`~/.docker/config.json`, legacy `~/.dockercfg`); PostgreSQL libpq (`~/.pgpass`); MySQL
# (`~/.my.cnf`); HashiCorp Vault (`~/.vault-token`); Apple App Store Connect / APNs keys
# (`AuthKey_*.p8`); Cargo (`~/.cargo/credentials[.toml]`); kubectl (`~/.kube/`, kubeconfig files);
# GnuPG (`~/.gnupg/`, `private-keys-v1.d/`, `secring.*`, exported `*.asc` keys); Terraform
# (`*.tfvars`, `*.tfstate`, `*.tfstate.backup`, `~/.terraform.d/credentials.tfrc.json`); cloud
# CLIs (`~/.aws/`, `~/.azure/`, gcloud's `application_default_credentials.json`, `.boto`, `.s3cfg`).

#: File names that hold credentials wherever they are.
SECRET_FILES = (
    ".env", ".env.*", ".envrc", "*.env",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.pem", "*.key", "*.p12", "*.pfx", "*.p8",
    "*.jks", "*.keystore", "*.ppk", "*.kdbx",
    ".netrc", ".pypirc", ".npmrc", ".git-credentials", ".htpasswd",
    ".pgpass", ".my.cnf", ".vault-token", ".dockercfg", ".boto", ".s3cfg",
    "credentials", "credentials.json", "*.credentials.json", "service-account*.json",
    "credentials.toml", "credentials.tfrc.json", "application_default_credentials.json",
    "kubeconfig", "kubeconfig.*", "*.kubeconfig",
    "*.asc", "secring.*",
    "*.tfvars", "*.tfvars.json", "*.tfstate", "*.tfstate.*",
)  # fmt: skip
#: Ordinary file names that hold credentials only in one tool's directory: the last parts of
#: the path inside the uploaded directory (a `config.json` elsewhere is uploaded).
SECRET_PATHS = (".docker/config.json", "gh/hosts.yml", "gh/hosts.yaml")
#: Templates that look like secrets by name but are meant to be shared.
SECRET_TEMPLATES = (".env.example", ".env.sample", ".env.template", ".env.dist")
#: Directories that hold credentials (ssh and gpg keys, cloud and cluster logins).
SECRET_DIRS = frozenset({".ssh", ".aws", ".gnupg", ".azure", ".kube", "private-keys-v1.d"})


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _glob_regex(glob: str) -> str:
    """A gitignore glob (no leading/trailing slash handling) as a regex fragment."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**/", i) and (i == 0 or glob[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i) and (i == 0 or glob[i - 1] == "/") and i + 2 == n:
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = glob[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def compile_gitignore(text: str) -> list[Rule]:
    """The rules of one `.gitignore` file, in order."""
    rules = []
    for raw in text.splitlines():
        line = re.sub(r"(?<!\\)\s+$", "", raw)
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate or line.startswith(("\\!", "\\#")):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        body = _glob_regex(line.lstrip("/"))
        pattern = body if anchored else f"(?:.*/)?{body}"
        rules.append(Rule(re.compile(f"^{pattern}$", re.DOTALL), negate, dir_only))
    return rules


@dataclass
class IgnoreStack:
    """`.gitignore` rule sets from the outermost directory in, each with its base directory."""

    #: (base directory with a trailing "/", its rules): plain strings, as the walk asks this
    #: of every file and pathlib's relative_to costs more than the match.
    sets: list[tuple[str, list[Rule]]] = field(default_factory=list)

    def ignored(self, path: str | Path, is_dir: bool) -> bool:
        verdict = False
        text = os.fspath(path)
        for base, rules in self.sets:
            if not text.startswith(base):
                continue
            rel = text[len(base) :]
            for rule in rules:
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(rel):
                    verdict = not rule.negate
        return verdict

    def entered(self, directory: str | Path) -> IgnoreStack:
        """The stack for the contents of `directory` (its own .gitignore added)."""
        rules = _read_gitignore(directory)
        base = os.path.join(os.fspath(directory), "")
        return IgnoreStack([*self.sets, (base, rules)]) if rules else self


def _read_gitignore(directory: str | Path) -> list[Rule]:
    try:
        with open(os.path.join(directory, ".gitignore"), errors="replace") as f:
            return compile_gitignore(f.read())
    except OSError:
        return []


def outer_gitignores(root: Path) -> IgnoreStack:
    """`.gitignore` files of the git repository around `root`, above it (git applies them)."""
    top = next((p for p in [root, *root.parents] if (p / ".git").exists()), None)
    if top is None or top == root:
        return IgnoreStack()
    chain = [p for p in [root, *root.parents] if p != root and (p == top or top in p.parents)]
    stack = IgnoreStack()
    for directory in reversed(chain):
        stack = stack.entered(directory)
    return stack


#: Every SECRET_FILES glob as one regex (`fnmatch.translate`, as `fnmatchcase` uses): an
#: upload asks this of every file, and 48 separate globs cost a millisecond per 20 files.
_SECRET_NAME = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in SECRET_FILES))
#: The last part of every SECRET_PATHS pattern: only a name matching one needs the full test.
_SECRET_PATH_NAME = re.compile(
    "|".join(f"(?:{fnmatch.translate(p.rsplit('/', 1)[-1])})" for p in SECRET_PATHS)
)


def is_secret(path: str, *, is_dir: bool = False) -> bool:
    """Whether `path` (relative to the uploaded directory, or a bare name) holds credentials."""
    parts = tuple(path.split("/")) if _plain(path) else PurePosixPath(path).parts
    if not parts:
        return False
    if is_dir:
        return parts[-1] in SECRET_DIRS
    if parts[-1] in SECRET_TEMPLATES:
        return False
    if _SECRET_NAME.match(parts[-1]):
        return True
    return _SECRET_PATH_NAME.match(parts[-1]) is not None and any(
        _tail_matches(parts, pattern) for pattern in SECRET_PATHS
    )


def _plain(path: str) -> bool:
    """Whether splitting `path` at `/` gives what PurePosixPath would (the walk's paths)."""
    return (
        path not in ("", ".")
        and "//" not in path
        and not path.startswith(("/", "./"))
        and not path.endswith(("/", "/."))
        and "/./" not in path
    )


def _tail_matches(parts: tuple[str, ...], pattern: str) -> bool:
    """`a/b.json` matches a path whose last two parts are `a` and `b.json`."""
    wanted = pattern.split("/")
    if len(parts) < len(wanted):
        return False
    tail = parts[len(parts) - len(wanted) :]
    return all(fnmatch.fnmatchcase(part, glob) for part, glob in zip(tail, wanted, strict=True))
