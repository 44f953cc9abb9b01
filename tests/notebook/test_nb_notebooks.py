"""The example notebooks, executed end to end in a real kernel with nbclient.

The model is a FakeAnthropic whose script plays the agent; tools really run (locally, or in
LocalDaytona's sandboxes). Each notebook checks its own kernel-side state in a final cell;
the tests also check what reached the model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def execute(name: str, where: Path) -> object:
    """Run the notebook `name` in a fresh kernel whose current directory is `where`."""
    shutil.copy(NOTEBOOKS / name, where / name)
    nb = nbformat.read(where / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=90, kernel_name="python3", resources={"metadata": {"path": str(where)}}
    )
    try:
        client.execute()
    finally:  # the executed notebook, outputs and all, for a person to look at
        ARTIFACTS.mkdir(exist_ok=True)
        nbformat.write(nb, ARTIFACTS / name)
    return nb


def outputs(nb: object) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


def test_quickstart_notebook(fake: FakeAnthropic, tmp_path: Path) -> None:
    def answer_with_tool_output(request):
        return reply(text(json.dumps({"region": request.tool_results[0]["content"].strip()})))

    top_region = (
        "python3 -c \"import pandas as pd; d = pd.read_parquet('rho-vars/sales.parquet'); "
        "print(d.groupby('region').revenue.sum().idxmax())\""
    )
    fake.add(
        # Create hello.py and run it
        reply(
            text("Creating it."),
            tool_call("write", {"path": "hello.py", "content": 'print("hello from rho-agent")\n'}),
        ),
        reply(tool_call("bash", {"command": "python3 hello.py"})),
        lambda request: reply(text(f"It printed `{request.tool_results[0]['content'].strip()}`.")),
        # ... the conversation continues
        reply(
            tool_call(
                "edit",
                {
                    "path": "hello.py",
                    "old_string": 'rho-agent")',
                    "new_string": 'rho-agent")\nprint(42)',
                },
            )
        ),
        reply(tool_call("bash", {"command": "python3 hello.py"})),
        reply(text("Now it prints the greeting and **42**.")),
        # --var sales
        reply(tool_call("bash", {"command": top_region})),
        answer_with_tool_output,
        # await session().run(...)
        reply(text("We wrote hello.py, extended it, and found the top region.")),
        # the plain Python API, on the kernel's loop
        reply(tool_call("list", {})),
        lambda request: reply(text(f"Files:\n{request.tool_results[0]['content']}")),
    )
    nb = execute("01-quickstart.ipynb", tmp_path)
    fake.assert_done()

    assert "all checks passed" in outputs(nb)
    assert (
        tmp_path / "quickstart-work" / "hello.py"
    ).read_text() == 'print("hello from rho-agent")\nprint(42)\n'
    # The second cell continued the first one's conversation.
    second = fake.requests[3].messages
    assert second[0]["content"][0]["text"].startswith("Create hello.py")
    assert second[-1]["content"][0]["text"].startswith("Now change hello.py")
    # Interpolation: {table} replaced, the JSON braces untouched; the variable's path is given.
    var_prompt = fake.requests[6].last_user_text()
    assert (
        "Which region in the sales table" in var_prompt
        and 'as JSON like {"region": "..."}.' in var_prompt
    )
    assert "sales.parquet" in var_prompt
    # The answers persist in the saved notebook as Markdown.
    saved = outputs(nb)
    assert "It printed `hello from rho-agent`." in saved and "mathjax_ignore" in saved


ANALYZE = """\
import csv
from collections import defaultdict

totals = defaultdict(float)
with open("data/sales.csv") as f:
    for row in csv.DictReader(f):
        totals[row["region"]] += float(row["revenue"])
ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
with open("summary.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["region", "revenue"])
    writer.writerows((region, round(total, 1)) for region, total in ranked)
top = ranked[0][1]
bars = "".join(
    f'<rect x="{20 + i * 90}" y="{220 - 200 * v / top:.1f}" width="60" height="{200 * v / top:.1f}" fill="#4c72b0"/>'
    f'<text x="{50 + i * 90}" y="240" text-anchor="middle">{r}</text>'
    for i, (r, v) in enumerate(ranked)
)
with open("chart.svg", "w") as f:
    f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{40 + 90 * len(ranked)}" height="250">{bars}</svg>\\n')
for region, total in ranked:
    print(f"{region},{total:.1f}")
"""

GROWTH = """ls && python3 - <<'EOF'
import csv
rows = list(csv.DictReader(open("data/sales.csv")))
months = sorted({r["month"] for r in rows})
first = {r["region"]: float(r["revenue"]) for r in rows if r["month"] == months[0]}
last = {r["region"]: float(r["revenue"]) for r in rows if r["month"] == months[-1]}
growth = sorted(((g, first[g], last[g], round(last[g] - first[g], 1)) for g in first), key=lambda t: -t[3])
with open("growth.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["region", "first", "last", "growth"])
    writer.writerows(growth)
print(growth[0][0])
EOF"""


def test_data_analysis_in_a_daytona_sandbox_notebook(
    fake: FakeAnthropic, daytona, tmp_path: Path
) -> None:
    fake.add(
        reply(
            text("I'll write a script."),
            tool_call("write", {"path": "analyze.py", "content": ANALYZE}),
        ),
        reply(tool_call("bash", {"command": "python3 analyze.py"})),
        lambda request: reply(
            text(f"Totals per region:\n\n{request.tool_results[0]['content']}\nNorth leads.")
        ),
        reply(tool_call("bash", {"command": GROWTH})),
        lambda request: reply(
            text(f"**{request.tool_results[0]['content'].split()[-1]}** grew the most.")
        ),
    )
    nb = execute("02-data-analysis-daytona.ipynb", tmp_path)
    fake.assert_done()
    assert "all checks passed" in outputs(nb)
    assert daytona.sandboxes() == []
    # The sandbox (and the conversation) carried over to the follow-up cell.
    listing = fake.requests[4].tool_results[0]["content"]
    assert "summary.csv" in listing and "chart.svg" in listing
    assert len(fake.requests[3].messages) == 7
    assert "(sandbox" in outputs(nb) or "daytona" in outputs(nb)


def test_panel_tour_notebook(fake: FakeAnthropic, tmp_path: Path) -> None:
    fake.add(
        reply(text("Reading the notes."), tool_call("read", {"path": "notes.txt"})),
        reply(
            tool_call(
                "write", {"path": "todo.md", "content": "- [ ] buy milk\n- [ ] write the report\n"}
            )
        ),
        reply(text("Wrote **todo.md** with 2 items.")),
    )
    nb = execute("03-panel-tour.ipynb", tmp_path)
    fake.assert_done()
    assert "all checks passed" in outputs(nb)
    assert (tmp_path / "panel-work" / "todo.md").exists()
    assert "buy milk" in fake.requests[1].tool_results[0]["content"]
