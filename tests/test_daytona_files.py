"""Pure parts of the Daytona backend: `.gitignore` rules, what an upload leaves out, upload and
download specs, `.rho-agent.toml` validation, and `DaytonaBackend` configuration errors."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from rho_agent.backends import parse_download, parse_upload
from rho_agent.backends._filters import compile_gitignore, is_secret
from rho_agent.backends._manifest import scan
from rho_agent.backends._specs import Upload
from rho_agent.backends._tarpipe import pack
from rho_agent.backends._transfer import place_command
from rho_agent.backends.daytona import DaytonaBackend
from rho_agent.errors import ConfigError
from rho_agent.project import ProjectConfig


def ignored(patterns: str, path: str, is_dir: bool = False) -> bool:
    verdict = False
    for rule in compile_gitignore(patterns):
        if rule.dir_only and not is_dir:
            continue
        if rule.regex.match(path):
            verdict = not rule.negate
    return verdict


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "expected"),
    [
        ("*.log", "a.log", False, True),
        ("*.log", "deep/dir/a.log", False, True),
        ("*.log\n!keep.log", "keep.log", False, False),
        ("build/", "build", True, True),
        ("build/", "build", False, False),
        ("/build", "src/build", True, False),
        ("/build", "build", True, True),
        ("doc/*.txt", "doc/a.txt", False, True),
        ("doc/*.txt", "doc/sub/a.txt", False, False),
        ("**/cache", "a/b/cache", True, True),
        ("logs/**", "logs/x/y.txt", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("a/**/b", "a/b", False, True),
        ("file[0-9].txt", "file7.txt", False, True),
        ("file[!0-9].txt", "file7.txt", False, False),
        ("# comment\n\n\\#hash", "#hash", False, True),
        ("trailing   ", "trailing", False, True),
        ("?.py", "a.py", False, True),
        ("?.py", "ab.py", False, False),
    ],
)
def test_gitignore_rules(patterns: str, path: str, is_dir: bool, expected: bool) -> None:
    assert ignored(patterns, path, is_dir) is expected


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        (".env", True),
        (".env.production", True),
        (".env.example", False),
        ("id_rsa", True),
        ("id_ed25519.pub", True),
        ("server.pem", True),
        ("tls.key", True),
        ("credentials.json", True),
        (".netrc", True),
        ("settings.py", False),
        ("keyboard.py", False),
        ("environment.yml", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret(name) is secret


def test_pack_leaves_out_secrets_ignored_files_and_junk(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    project = repo / "services" / "api"
    (repo / ".git").mkdir(parents=True)
    (repo / ".gitignore").write_text("*.tmp\n")  # the repository's rules apply below it too
    project.mkdir(parents=True)
    (project / ".gitignore").write_text("dist/\n")
    (project / "sub").mkdir()
    (project / "sub" / ".gitignore").write_text("*.csv\n!important.csv\n")
    files = {
        "main.py": True,
        "scratch.tmp": False,
        "dist/bundle.js": False,
        "sub/data.csv": False,
        "sub/important.csv": True,
        ".env": False,
        ".env.example": True,
        ".ssh/id_ed25519": False,
        "keys/deploy.pem": False,
        "node_modules/x.js": False,
        "__pycache__/m.pyc": False,
        ".venv/bin/python": False,
        "README.md": True,
    }
    for rel in files:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(rel)
    archive = tmp_path / "out.tar"
    manifest = scan(
        [Upload(project, "/home/daytona/api"), Upload(repo / ".gitignore", "/etc-free/ignore")]
    )
    pack(manifest.trees, archive)
    report = manifest.report
    with tarfile.open(archive, ignore_zeros=True) as tar:  # one archive per mapping
        names = set(tar.getnames())
        assert all(m.uid == 0 and m.uname == "" for m in tar.getmembers())
        assert not any(m.pax_headers for m in tar.getmembers()), "no PAX header per file"
        assert all(isinstance(m.mtime, int) for m in tar.getmembers())
    for rel, uploaded in files.items():
        assert (f"home/daytona/api/{rel}" in names) is uploaded, rel
    assert "etc-free/ignore" in names, "a file named on purpose is always uploaded"
    assert report.secrets == [".env", ".ssh/", "keys/deploy.pem"]
    assert sorted(report.gitignored) == ["dist/", "scratch.tmp", "sub/data.csv"]
    summary = report.summary([Upload(project, "/home/daytona/api")])
    assert "skipped 3 secret file(s): .env, .ssh/, keys/deploy.pem" in summary
    assert "--upload ./.env:/home/daytona/api/.env" in summary and "\n" not in summary


def test_place_command_is_one_command_making_each_directory_once(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("a\n")
    (tmp_path / "c.yaml").write_text("c: 1\n")
    uploads = [Upload(tmp_path / "data", "/work/data"), Upload(tmp_path / "c.yaml", "/work/c.yaml")]
    manifest = scan(uploads)
    command = place_command("/tmp/s", manifest, [*manifest.remote_dirs, "/home/daytona/app"])
    assert command.count("tar -x") == 1 and "tar -xz" not in command, "uncompressed"
    assert command.count("/work ") == 1 and "/work/data " in command
    assert "/work/c.yaml" not in command, "a file mapping is a name in the archive, not a dir"
    assert "/home/daytona/app" in command, "the working dir is made by the same command"
    assert 'rm -rf "$s"' in command


async def test_upload_and_download_work_on_the_local_workspace_too(tmp_path: Path) -> None:
    """They are built on the Workspace primitives, so every backend has them."""
    from rho_agent.backends import LocalWorkspace

    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "m.py").write_text("x = 1\n")
    (source / ".env").write_text("SECRET=1\n")
    (tmp_path / "one.txt").write_text("one\n")
    work = tmp_path / "work"
    work.mkdir()
    ws = LocalWorkspace(work)
    await ws.upload(
        [Upload(source, f"{work}/dest/src"), Upload(tmp_path / "one.txt", f"{work}/dest/one.txt")]
    )
    assert (work / "dest" / "src" / "pkg" / "m.py").read_text() == "x = 1\n"
    assert (work / "dest" / "one.txt").read_text() == "one\n" and not (
        work / "dest" / "src" / ".env"
    ).exists()
    back = await ws.download("dest", tmp_path / "back")
    assert (back / "src" / "pkg" / "m.py").read_text() == "x = 1\n"
    assert (await ws.download(f"{work}/dest/one.txt", tmp_path)).read_text() == "one\n"


def test_upload_and_download_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert parse_upload("./data:/work/data", working_dir="/home/daytona") == Upload(
        tmp_path / "data", "/work/data"
    )
    assert (
        parse_upload("data:sub/dir", working_dir="/home/daytona").remote == "/home/daytona/sub/dir"
    )
    for bad, message in [
        ("data", "expected LOCAL:REMOTE"),
        ("./data:", "expected LOCAL:REMOTE"),
        ("./nope:/x", "does not exist"),
        ("./data:/", "cannot be /"),
    ]:
        with pytest.raises(ConfigError, match=message) as info:
            parse_upload(bad, working_dir="/home/daytona")
        assert str(info.value).startswith(f"--upload {bad!r}")
    assert parse_download("/work/out.json:./out.json") == ("/work/out.json", Path("out.json"))
    with pytest.raises(ConfigError, match="--download 'nocolon': expected REMOTE:LOCAL"):
        parse_download("nocolon")


def test_project_file_discovery_and_schema(tmp_path: Path) -> None:
    root = tmp_path / "myapp"
    (root / "backend" / "deep").mkdir(parents=True)
    (root / ".rho-agent.toml").write_text(
        '[sandbox]\ndockerfile = "Dockerfile"\nworking_dir = "/home/daytona/myapp/backend"\n'
        'setup = ["uv sync", "uv run alembic upgrade head"]\nuv_version = "0.6.6"\n'
        '[sandbox.env]\nDATABASE_URL = "sqlite:///db.sqlite3"\n'
    )
    (root / "Dockerfile").write_text("FROM python:3.12\n")
    project = ProjectConfig.discover(root / "backend" / "deep")
    assert project.root == root.resolve() and project.remote_root == "/home/daytona/myapp"
    assert project.sandbox.setup == ["uv sync", "uv run alembic upgrade head"]
    assert project.dockerfile == (root / "Dockerfile").resolve()
    backend = DaytonaBackend.from_project(project)
    assert backend.dockerfile == (root / "Dockerfile").resolve() and backend.uv_version == "0.6.6"
    assert backend.uploads == [f"{root.resolve()}:/home/daytona/myapp"]
    assert backend.working_dir == "/home/daytona/myapp/backend"
    assert backend.env_vars == {"DATABASE_URL": "sqlite:///db.sqlite3"}
    flags = DaytonaBackend.from_project(
        project, image="python:3.13", working_dir="/srv", uploads=[f"{root}:/w"]
    )
    assert flags.dockerfile is None and flags.image == "python:3.13" and flags.working_dir == "/srv"
    assert flags.uploads == [f"{root}:/w"]
    nothing = ProjectConfig.discover(tmp_path)
    assert nothing.path is None and nothing.root == tmp_path.resolve()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[sandbox]\nimgae = "x"\n', "unknown key 'sandbox.imgae' (did you mean \"image\"?)"),
        ('[sandbx]\nimage = "x"\n', "unknown key 'sandbx' (did you mean \"sandbox\"?)"),
        ('[sandbox]\nsetup = "uv sync"\n', "key 'sandbox.setup'"),
        ('[sandbox]\nworking_dir = "relative/dir"\n', "must be an absolute path"),
        ('[sandbox]\nuv_version = "latest"\n', 'uv version such as "0.6.6"'),
        (
            '[sandbox]\nimage = "a"\nsnapshot = "b"\n',
            "set only one of image, dockerfile and snapshot",
        ),
        ('[sandbox]\ndockerfile = "Missing.dockerfile"\n', "Missing.dockerfile not found"),
        ("[sandbox.env]\nPORT = 8000\n", "key 'sandbox.env.PORT'"),
        ("[sandbox\n", "not valid TOML"),
    ],
)
def test_bad_project_files_name_file_key_and_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / ".rho-agent.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        ProjectConfig.load(path)
    assert str(path) in info.value.message and message in info.value.message, info.value.message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"auto_stop_interval": -1}, "auto_stop_interval"),
        ({"auto_stop_interval": 1.5}, "whole number of seconds"),
        ({"env_vars": {"BAD NAME": "x"}}, "not a valid environment variable name"),
        ({"env_vars": {"A": 1}}, "map strings to strings"),
        ({"snapshot": "s", "dockerfile": "Dockerfile"}, "snapshot or dockerfile"),
        ({"working_dir": "relative"}, "absolute path"),
        ({"uploads": "./a:/b"}, "lists of strings"),
    ],
)
def test_backend_configuration_errors(fields: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DaytonaBackend(**fields)


def test_backend_is_keyword_only_and_lazy() -> None:
    import subprocess
    import sys

    with pytest.raises(TypeError):
        DaytonaBackend(None, "python:3.13")  # type: ignore[misc]
    code = (
        "import sys; from rho_agent.tools.handlers.daytona import DaytonaBackend; DaytonaBackend(image='x');"
        "from rho_agent import AgentConfig; AgentConfig(backend='daytona');"
        "print('daytona' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False", "configuring the backend must not import the Daytona SDK"


def test_auto_stop_seconds_become_minutes() -> None:
    from rho_agent.backends.daytona._plan import minutes as _minutes

    assert [_minutes(s) for s in (0, 1, 60, 61, 1800)] == [0, 1, 1, 2, 30]


def test_no_auto_upload_of_a_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    backend = DaytonaBackend.from_project()
    assert backend.uploads == [] and backend.working_dir is None
    project = tmp_path / "code" / "app"
    project.mkdir(parents=True)
    monkeypatch.chdir(project)
    assert DaytonaBackend.from_project().uploads == [f"{project.resolve()}:/home/daytona/app"]


def test_an_upload_that_is_too_big_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rho_agent.backends import _manifest

    monkeypatch.setattr(_manifest, "MAX_FILES", 5)
    for i in range(6):
        (tmp_path / "src" / f"f{i}").parent.mkdir(exist_ok=True)
        (tmp_path / "src" / f"f{i}").write_text("x")
    with pytest.raises(ConfigError, match="more than 5 files"):
        scan([Upload(tmp_path / "src", "/w")])


async def test_a_missing_sdk_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from rho_agent.backends import OpenRequest

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "daytona" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install 'rho-agent\[daytona\]'"):
        await DaytonaBackend().open(OpenRequest(session_id="x", working_dir=None))
