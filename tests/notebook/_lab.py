"""A Jupyter server (JupyterLab or Notebook 7) on 127.0.0.1 and Debian's chromium, for the
browser tests. No browser is downloaded: Playwright drives /usr/bin/chromium."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(
    root: Path, tmp_path: Path, app: str = "jupyterlab"
) -> Iterator[tuple[str, str]]:
    """`python -m jupyterlab` (or `notebook`) serving `root` with private config, settings
    and workspaces; yields its base URL, `http://127.0.0.1:PORT`, and the query that
    authenticates, `?token=…` (`base + "/lab/tree/x.ipynb" + query`)."""
    port, token = free_port(), secrets.token_hex(16)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
    }
    log = tmp_path / f"{app}.log"
    server = subprocess.Popen(
        [
            sys.executable, "-m", app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=open(log, "w"),  # noqa: SIM115
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, f"{app} did not start"
                time.sleep(0.2)
        yield base, f"?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A page of a fresh headless chromium (its own user-data-dir)."""
    playwright = pytest.importorskip("playwright.sync_api")

    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
            viewport={"width": 1400, "height": 1200},
        )  # fmt: skip
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def run_cell_of(page: Any, cell: Any) -> None:
    """Run the notebook cell `cell` (a locator) as a person does: click into it, Shift+Enter."""
    from playwright.sync_api import expect

    for _attempt in range(3):  # a key press right after the kernel connects can be dropped
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            expect(cell.locator(".jp-InputPrompt")).not_to_have_text("[ ]:", timeout=5_000)
            return
        except AssertionError:
            continue
