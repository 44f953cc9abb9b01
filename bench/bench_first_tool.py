"""Cold start: from launching `rho-agent main --backend daytona` to its first tool result,
against a minimal script that uses the same SDKs in the best order (`_first_tool_minimal.py`).

Both are launched as subprocesses (SDKs not preloaded) in a project directory, against
LocalDaytona (its own process; a sandbox takes `--create` seconds to start) and FakeAnthropic
(its own process; the first model call takes `--model` seconds). The first tool result is
the moment the second model request (carrying it) reaches FakeAnthropic; the create request
is the moment LocalDaytona receives it, both from the launch. Projects: a small one, and
2,000 files / 52 MB (auto-uploaded by rho-agent; one uncompressed tar for the script).

    python bench/bench_first_tool.py [--create 2] [--model 1.5] [--repeat 3]

Prints medians and the ratio (ours / minimal); asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _servers import AnthropicProcess, DaytonaProcess
from bench_upload import make_tree

from rho_agent.testing.fake_anthropic import fault, reply, text, tool_call

HERE = Path(__file__).parent


def small_project(root: Path) -> None:
    (root / "src").mkdir(parents=True)
    (root / "README.md").write_text("# app\n")
    (root / "src" / "app.py").write_text("print('hello')\n")


def launch(kind: str, project: Path, env: dict[str, str]) -> float:
    """Run one launch; returns the `time.time()` it started at."""
    if kind == "rho-agent":
        argv = [sys.executable, "-m", "rho_agent", "main", "--backend", "daytona"]
        argv += ["--profile", "developer", "go"]
    else:
        argv = [sys.executable, str(HERE / "_first_tool_minimal.py"), str(project)]
        argv += [f"/home/daytona/{project.name}"]
    started = time.time()
    done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return started


def one_run(kind: str, project: Path, daytona: DaytonaProcess, args: argparse.Namespace, home: str):
    script = [
        fault.slow_first_byte(args.model, then=reply(tool_call("bash", {"command": "echo first"}))),
        reply(text("ok")),
    ]
    before = len(daytona.requests)
    with AnthropicProcess(script) as fake:
        env = {**os.environ, **daytona.env, **fake.env, "RHO_AGENT_HOME": home}
        started = launch(kind, project, env)
        model_requests = fake.requests
    creates = [
        r
        for r in daytona.requests[before:]
        if r[0] == "POST" and r[1].rstrip("/").endswith("/sandbox")
    ]
    first_tool = model_requests[1][1] - started
    return first_tool, creates[0][2] - started, model_requests[0][1] - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--create", type=float, default=2.0)
    parser.add_argument("--model", type=float, default=1.5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        DaytonaProcess(
            create_delay=args.create, tmpdir="/dev/shm" if os.path.isdir("/dev/shm") else None
        ) as daytona,
    ):
        projects = {"small project": Path(tmp) / "small", "2,000 files, 52 MB": Path(tmp) / "big"}
        small_project(projects["small project"])
        make_tree(projects["2,000 files, 52 MB"], 2000, 50, binary_share=0.5)
        for project in projects.values():
            (project / ".git").mkdir()  # a project root, auto-uploaded
        print(
            f"sandbox creation {args.create:g} s, first model call {args.model:g} s, "
            f"median of {args.repeat}; seconds from launch"
        )
        print(
            f"{'project':<20} {'who':<10} {'first tool':>10} {'create sent':>12} {'model sent':>11}"
        )
        for title, project in projects.items():
            results: dict[str, list[tuple[float, float, float]]] = {"rho-agent": [], "minimal": []}
            for _ in range(args.repeat):
                for kind in results:
                    results[kind].append(
                        one_run(kind, project, daytona, args, str(Path(tmp) / "home"))
                    )
            medians = {
                k: [statistics.median(r[i] for r in v) for i in range(3)]
                for k, v in results.items()
            }
            for kind, (tool, create, model) in medians.items():
                runs = ", ".join(f"{r[0]:.2f}" for r in results[kind])
                print(
                    f"{title:<20} {kind:<10} {tool:10.2f} {create:12.2f} {model:11.2f}   (runs: {runs})"
                )
            ratio = medians["rho-agent"][0] / medians["minimal"][0]
            print(f"{title:<20} ratio rho-agent / minimal: {ratio:.2f}x", flush=True)


if __name__ == "__main__":
    main()
