"""Build the JupyterLab extension from source when its sources changed, and say so.

    python extension/build_labextension.py            # build if stale
    python extension/build_labextension.py --develop  # ... and link it into this Python's prefix

The build is JupyterLab's own toolchain: `jlpm` (the yarn that ships in the `jupyterlab`
package) installs `node_modules/` and runs `jlpm build:prod` (TypeScript, then
`jupyter labextension build`), which writes the prebuilt extension to `extension/labextension/`.
It needs Node.js (`node` on PATH). A hash of the sources is kept beside the output: an
unchanged tree is not built again, and `jlpm install` runs only when `package.json` or
`yarn.lock` changed. `--develop` points `share/jupyter/labextensions/rho-agent` of the running
Python's prefix (a venv) at the output, as `jupyter labextension develop` does, so JupyterLab
serves what was just built. The wheel build (`build_backend.py`) calls `ensure_built()`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "labextension"
NAME = "rho-agent"
#: What the build reads: a change to any of these means a new build.
SOURCES = ("package.json", "yarn.lock", "tsconfig.json", ".yarnrc.yml", "install.json")
SOURCE_DIRS = ("src", "style", "schema")
STAMP = OUTPUT / "build-hash.txt"
INSTALL_STAMP = HERE / "node_modules" / ".rho-install-hash"


def _hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(HERE)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def source_files() -> list[Path]:
    files = [HERE / name for name in SOURCES if (HERE / name).exists()]
    for folder in SOURCE_DIRS:
        files += sorted(p for p in (HERE / folder).rglob("*") if p.is_file())
    return files


def source_hash() -> str:
    return _hash(source_files())


def is_stale() -> bool:
    """Whether the prebuilt extension is missing or older than its sources."""
    try:
        return STAMP.read_text().strip() != source_hash()
    except FileNotFoundError:
        return True


def _say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


#: jlpm's entry point: in jupyter_builder since JupyterLab 4.6, in jupyterlab before.
_JLPM = """import sys
try:
    from jupyter_builder.jlpm import main
except ImportError:
    from jupyterlab.jlpmapp import main
sys.argv[0] = "jlpm"
sys.exit(main())
"""


def _jlpm(*args: str) -> None:
    """Run jlpm (from the `jupyterlab` package of this Python) in extension/."""
    env = dict(os.environ)
    # `jupyter labextension build` is run by a package script: this Python's scripts first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = [sys.executable, "-c", _JLPM, *args]
    # Its output is progress: to stderr, as every step of the test command says what it does.
    subprocess.run(command, cwd=HERE, env=env, check=True, stdout=sys.stderr)


def ensure_built() -> bool:
    """Build the extension if it is stale; True if it was built."""
    if not is_stale():
        return False
    if shutil.which("node") is None:
        raise SystemExit(
            "Building the rho-agent JupyterLab extension needs Node.js (18 or newer): install it "
            "(Debian/Ubuntu: apt-get install nodejs) or use a released wheel, which has it prebuilt."
        )
    try:
        import jupyterlab  # noqa: F401  (its jlpm is the build's package manager)
    except ImportError:
        raise SystemExit(
            f"Building the rho-agent JupyterLab extension needs the jupyterlab package in "
            f"{sys.executable}: pip install jupyterlab"
        ) from None
    install_hash = _hash([HERE / "package.json", HERE / "yarn.lock"])
    installed = INSTALL_STAMP.read_text() if INSTALL_STAMP.exists() else ""
    if installed != install_hash:
        _say("Installing the extension's npm packages (jlpm install) into extension/node_modules")
        _jlpm("install")
        INSTALL_STAMP.write_text(install_hash)
    _say("Building the JupyterLab extension (jlpm build:prod) into extension/labextension")
    _jlpm("build:prod")
    # install.json tells `jupyter labextension list` which Python package installed it.
    shutil.copy(HERE / "install.json", OUTPUT / "install.json")
    STAMP.write_text(source_hash())
    return True


def develop(prefix: Path) -> Path:
    """Make `prefix`/share/jupyter/labextensions/rho-agent the output (a symlink)."""
    target = prefix / "share" / "jupyter" / "labextensions" / NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() and target.resolve() == OUTPUT:
        return target
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    target.symlink_to(OUTPUT, target_is_directory=True)
    return target


def main(argv: list[str]) -> int:
    built = ensure_built()
    if not built:
        _say("The JupyterLab extension is up to date (extension/labextension)")
    if "--develop" in argv:
        link = develop(Path(sys.prefix))
        _say(f"JupyterLab loads the extension from {link} -> {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
