"""Tab completion of `%rho` / `%%rho` lines, through IPython's own completer."""

from __future__ import annotations

from pathlib import Path

from IPython.core.completer import provisionalcompleter


def complete(ip, text: str) -> list[str]:
    with provisionalcompleter():
        return sorted(c.text for c in ip.Completer.completions(text, len(text)))


def test_subcommands_complete_instead_of_other_magics(ip) -> None:
    assert complete(ip, "%rho st") == ["status"]  # not %store
    assert "sandboxes" in complete(ip, "%rho ")


def test_cell_options_and_their_values(ip) -> None:
    assert complete(ip, "%%rho --ba") == ["--backend", "--background"]
    assert {"local", "daytona"} <= set(complete(ip, "%%rho --backend "))
    assert complete(ip, "%%rho --profile dev") == ["developer"]
    assert complete(ip, "%rho config --pro") == ["--profile"]


def test_session_names_include_this_kernels(ip, fake) -> None:
    from rho_agent.testing import reply, text

    fake.add(reply(text("hi")))
    ip.run_cell_magic("rho", "--session analysis", "hello")
    assert complete(ip, "%%rho --session an") == ["analysis"]


def test_local_paths_for_uploads(ip, workdir: Path) -> None:
    (workdir / "data").mkdir()
    (workdir / "data.csv").write_text("x\n")
    assert complete(ip, "%%rho --upload da") == ["data.csv", "data/"]
    assert complete(ip, "%rho upload data.") == ["data.csv"]


def test_other_lines_complete_as_before(ip) -> None:
    ip.user_ns["rho_value"] = 1
    assert "rho_value" in complete(ip, "rho_v")


def test_a_longer_magic_name_is_not_ours(ip) -> None:
    assert not any(c.startswith("--") for c in complete(ip, "%rhombus --"))
    assert complete(ip, "%rho config --backend ") == complete(ip, "%%rho --backend ")


def test_models_come_from_the_price_table(ip) -> None:
    from rho_agent.model import DEFAULT_MODEL

    assert DEFAULT_MODEL in complete(ip, "%%rho --model claude-")


def test_magic_help_lists_the_options(ip) -> None:
    for kind in ("cell", "line"):
        doc = ip.magics_manager.magics[kind]["rho"].__doc__
        assert "--backend" in doc and "--budget" in doc and "status" in doc


def test_sandbox_ids_are_this_kernels_and_your_kept_ones(ip, daytona) -> None:
    import asyncio

    from daytona import AsyncDaytona, CreateSandboxFromImageParams

    from rho_agent.backends.daytona import LABEL, user_label

    async def create(user: str) -> str:
        labels = {LABEL: "1", f"{LABEL}-user": user}
        async with AsyncDaytona() as client:
            box = await client.create(CreateSandboxFromImageParams(image="x", labels=labels))
            return box.id

    async def delete(*ids: str) -> None:
        async with AsyncDaytona() as client:
            for box_id in ids:
                await client.delete(await client.get(box_id))

    kept = asyncio.run(create(user_label()))
    theirs = asyncio.run(create("someone-else@elsewhere"))
    try:
        offered = complete(ip, "%%rho --backend daytona --sandbox ")
        assert kept in offered and theirs not in offered
        assert complete(ip, f"%%rho --sandbox {kept[:6]}") == [kept]
        assert complete(ip, f"%rho config --sandbox {kept[:6]}") == [kept]
    finally:
        asyncio.run(delete(kept, theirs))


def test_sandbox_ids_without_daytona_complete_to_nothing_quickly(ip) -> None:
    from rho_agent.notebook.completion import candidates

    assert candidates("%%rho --sandbox ") == []  # no key: no request, no error
