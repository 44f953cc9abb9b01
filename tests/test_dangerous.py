"""`dangerous_reason`: what the `developer` profile asks about before running a command.

The tables are pure data: `dangerous_reason` is a pure function of the command line, so
nothing here runs a destructive command. A few go through a real developer session with
no approver, where the call must be refused with the reason and change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rho_agent import Agent, AgentConfig, Session
from rho_agent.events import ApprovalRequested, Event
from rho_agent.permissions.shell_policy import MAX_COMMAND_BYTES, dangerous_reason
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

# (command, a fragment of the reason). Every one was missed before the parser became the
# helper: abbreviated long options, truncation, wrappers, data stores, infrastructure...
DESTRUCTIVE: list[tuple[str, str]] = [
    # files: rm in all its spellings, and what it is fed
    ("rm --recursiv --forc dir", "rm -r/-f"),
    ("rm --rec dir", "rm -r/-f"),
    ("rm *.log", "only known when it runs"),
    ('rm "$FILE"', "only known when it runs"),
    ("rm ~/.bashrc", "outside the project"),
    ("rm /etc/hosts", "outside the project"),
    ("find . -type f -exec rm {} +", "rm deletes files named by '{}'"),
    ("xargs rm < list.txt", "arguments from stdin"),
    ("git ls-files -z | xargs -0 rm", "arguments from stdin"),
    ("env PATH=/usr/bin rm -rf build", "rm -r/-f"),
    ("exec rm -rf build", "rm -r/-f"),
    ("busybox rm -rf x", "rm -r/-f"),
    ("xargs --process-slot-var=X rm -r", "rm -r/-f"),
    ("env -S 'rm -rf x'", "rm -r/-f"),
    ("bash --norc -O extglob -c 'rm -rf x'", "rm -r/-f"),
    ("ssh host 'rm -rf /srv/app'", "rm -r/-f"),
    ("watch 'rm -rf tmp'", "rm -r/-f"),
    # truncation and overwriting
    (": > app.log", "truncates app.log"),
    ("> app.log", "truncates app.log"),
    ("true > app.log", "truncates app.log"),
    ("cat /dev/null > app.log", "truncates app.log"),
    ("cp /dev/null app.log", "empties app.log"),
    ("echo 'export X=1' >> ~/.bashrc", "writes to ~/.bashrc, outside the project"),
    ("echo x > /etc/hosts", "writes to /etc/hosts"),
    ("mv a.txt b.txt", "mv replaces its target"),
    ("mv -f src dst", "mv replaces its target"),
    ("cp -f a.txt b.txt", "cp -f replaces existing files"),
    ("ln -sf target link", "ln -f replaces existing files"),
    ("chmod 777 /etc/passwd", "outside the project"),
    ("rsync -a --delete src/ dst/", "rsync --delete deletes files"),
    ("rsync -a --del src/ dst/", "rsync --del deletes files"),
    ("rsync --remove-source-files a b", "deletes files"),
    # git: abbreviations, paths, history
    ("git reset --har HEAD~1", "git reset --hard"),
    ("git reset --h", "git reset --hard"),
    ("git -c user.name=x reset --hard", "git reset --hard"),
    ("git checkout HEAD~1 src/a.py", "git checkout of paths"),
    ("git switch --discard-changes main", "discards uncommitted changes"),
    ("git branch -M main", "git branch -D"),
    ("git reflog expire --expire=now --all", "git reflog expire"),
    ("git gc --prune=now", "git gc --prune=now"),
    ("git rm -f a.py", "git rm -f"),
    ("git -c alias.x='!rm -rf y' x", "runs a shell command"),
    # data stores
    ("sqlite3 app.db 'DROP TABLE users'", "deletes data (DROP)"),
    ('sqlite3 app.db "delete from users"', "deletes data (DELETE)"),
    ("psql -c 'TRUNCATE orders'", "deletes data (TRUNCATE)"),
    ("mysql -e 'drop database prod'", "deletes data (DROP)"),
    ("sqlite3 app.db <<EOF\nDROP TABLE t;\nEOF", "deletes data (DROP)"),
    ('sqlite3 db "$SQL"', "could not be checked"),
    ("redis-cli FLUSHALL", "deletes every key"),
    # containers and infrastructure
    ("docker rm -f web", "docker rm"),
    ("docker rmi image", "docker rmi"),
    ("docker system prune -af", "docker system prune"),
    ("docker volume rm data", "docker volume rm"),
    ("docker image prune -a", "docker image prune"),
    ("docker compose down -v", "deletes volumes"),
    ("docker-compose down --volumes", "deletes volumes"),
    ("kubectl delete pod web", "kubectl delete"),
    ("kubectl -n prod delete deployment api", "kubectl delete"),
    ("helm uninstall web", "helm uninstall"),
    ("terraform destroy -auto-approve", "terraform destroy"),
    ("terraform apply -destroy", "terraform destroy"),
    ("tofu state rm aws_instance.x", "tofu state rm"),
    ("pulumi destroy --yes", "pulumi destroy"),
    ("aws s3 rm s3://bucket --recursive", "deletes cloud resources"),
    ("aws ec2 terminate-instances --instance-ids i-1", "deletes cloud resources"),
    ("gcloud compute instances delete vm1", "deletes cloud resources"),
    # registries and system packages
    ("npm unpublish pkg@1.0.0", "npm unpublish"),
    ("npm publish", "npm publish"),
    ("cargo publish", "cargo publish"),
    ("twine upload dist/*", "twine upload"),
    ("apt-get remove -y nginx", "removes system packages"),
    ("dpkg -P nginx", "removes system packages"),
    ("crontab -r", "crontab -r"),
    ("kill --signal=KILL 1234", "kill -9"),
    ("kill -sKILL 1234", "kill -9"),
    # what runs is only known at run time
    ("$CMD build", "could not be checked"),
    ("`echo rm` -rf x", "could not be checked"),
    ("xargs $CMD", "could not be checked"),
]

# Ordinary developer work: never asked about. Several sit next to a rule on purpose
# (rm of named files, mv -n, git checkout BRANCH, docker run --rm, SQL that only reads).
ORDINARY: list[str] = [
    "ls -la",
    "pytest -x tests/",
    "python -m pytest -q",
    "python script.py",
    "python -c 'print(1)'",
    "cat data.csv | python3 parse.py",
    "pip install -e .",
    "pip install -r requirements.txt",
    "npm install",
    "npm test",
    "npm run build",
    "cargo build",
    "go test ./...",
    "make test",
    "git status",
    "git diff",
    "git add -A",
    "git commit -m x",
    "git checkout main",
    "git checkout -b feature",
    "git switch main",
    "git branch feature",
    "git stash",
    "git stash pop",
    "git fetch",
    "git pull --rebase",
    "git clean -n",
    "git rm --cached a.py",
    "git mv old.py new.py",
    "mkdir -p build",
    "touch a.txt",
    "cp a.txt b.txt",
    "cp -r src backup",
    "rm build/tmp.o",
    "rm a.txt b.txt",
    "rmdir empty",
    "mv -n a b",
    "ln -s target link",
    "echo x > new.txt",
    "echo x >> log.txt",
    "cat > notes.md <<EOF\nhello\nEOF",
    "printf 'a\\n' > out.txt",
    "grep -rn TODO . > /tmp/todo.txt",
    "echo 'rm -rf /' > notes.txt",
    "sed -i 's/a/b/' f.txt",
    "find . -name x -exec grep -l y {} +",
    "xargs grep x < files",
    "docker build -t x .",
    "docker run --rm img",
    "docker logs web",
    "kubectl get pods",
    "terraform plan",
    "rsync -a src/ dst/",
    "sqlite3 app.db 'select * from t'",
    'psql "$DATABASE_URL" -c "select 1"',
    "tar -xzf a.tgz",
    "./run.sh",
    "bash build.sh",
    "env FOO=1 timeout 60 pytest",
    "ssh host uptime",
]


def test_tables_are_big_enough_and_distinct() -> None:
    assert len(DESTRUCTIVE) >= 47 and len(ORDINARY) >= 30
    commands = [c for c, _ in DESTRUCTIVE] + ORDINARY
    assert len(set(commands)) == len(commands)


@pytest.mark.parametrize(("command", "fragment"), DESTRUCTIVE, ids=[c for c, _ in DESTRUCTIVE])
def test_destructive_commands_are_asked_about(command: str, fragment: str) -> None:
    reason = dangerous_reason(command)
    assert reason is not None, f"{command!r} was not asked about"
    assert fragment in reason


@pytest.mark.parametrize("command", ORDINARY)
def test_ordinary_commands_are_not(command: str) -> None:
    assert dangerous_reason(command) is None


@pytest.mark.parametrize(
    "command",
    [
        "echo 'unterminated",
        "if true; then ls",
        "echo a\0b",
        "echo " + "$(" * 40 + ")" * 40,
        "env " * 40 + "ls",  # wrappers count toward the nesting limit
        "eval " * 13000 + "ls",  # each eval re-reads the rest: the nested text is bounded
        'eval "$X"',
        'bash -c "$SCRIPT"',
        'env "$X" ls',
        "git $SUB",
    ],
)
def test_what_cannot_be_checked_is_asked_about(command: str) -> None:
    reason = dangerous_reason(command)
    assert reason is not None
    assert "could not be checked" in reason or "only known when it runs" in reason


def test_a_command_over_the_size_limit_is_asked_about_without_parsing() -> None:
    megabyte = "ls " * (1024 * 1024 // 3)
    reason = dangerous_reason(megabyte)
    assert reason == (
        f"it is too long to be checked for destructive commands ({len(megabyte)} bytes; "
        f"commands of up to {MAX_COMMAND_BYTES} bytes are checked)"
    )
    at_limit = "ls " * (MAX_COMMAND_BYTES // 3)
    assert dangerous_reason(at_limit) is None  # still parsed: the limit is inclusive
    two_byte_chars = "echo " + "é" * (MAX_COMMAND_BYTES // 2)  # fewer characters than bytes
    assert "too long" in (dangerous_reason(two_byte_chars) or "")


# --- through a developer session with no one to approve --------------------------------


async def test_a_developer_session_without_an_approver_refuses_with_the_reason(
    project: Path,
) -> None:
    (project / "keep.txt").write_text("precious\n")
    (project / "victim").mkdir()
    (project / "victim" / "f").write_text("x\n")
    refused = ["rm --recursiv --forc victim", ": > keep.txt", "mv keep.txt gone.txt", "$CMD victim"]
    calls = [tool_call("bash", {"command": c}, id=f"toolu_{i}") for i, c in enumerate(refused)]
    calls.append(tool_call("bash", {"command": "echo made > new.txt"}, id="toolu_ok"))
    script = [reply(*calls), reply(text("done"))]
    events: list[Event] = []
    with FakeAnthropic(script) as fake:
        config = AgentConfig(
            base_url=fake.base_url, api_key="test-key", working_dir=str(project),
            profile="developer", auto_approve=False,
        )  # fmt: skip
        async with Session(Agent(config), on_event=events.append) as session:
            await session.run("tidy up")
        fake.assert_done()

    results = fake.requests[1].body["messages"][-1]["content"]
    for command, result in zip(refused, results, strict=False):
        assert result["is_error"], command
        assert "approval" in result["content"] and dangerous_reason(command) in result["content"]
    asked = [e.reason for e in events if isinstance(e, ApprovalRequested)]
    assert asked == [dangerous_reason(c) for c in refused]
    assert (project / "victim" / "f").exists()
    assert (project / "keep.txt").read_text() == "precious\n"
    assert not results[-1].get("is_error")  # ordinary work still runs without asking
    assert (project / "new.txt").read_text() == "made\n"
