"""The reference for bench_first_tool: the same SDKs used in the best order, nothing else.

Run as `python _first_tool_minimal.py PROJECT REMOTE_DIR` with the Daytona and Anthropic
variables set. The Daytona SDK is imported first and the create request sent at once; the
project is packed meanwhile as one uncompressed tar (GNU tar, into memory); `anthropic` is
imported and the model called while the sandbox starts; once both are there the tar is
uploaded in one request, unpacked by one command, and the model's command run; the tool
result goes back in the second model request (the moment the bench measures).
"""

import asyncio
import importlib
import subprocess
import sys


async def main(project: str, remote: str) -> None:
    from daytona import AsyncDaytona, CreateSandboxFromImageParams

    daytona = AsyncDaytona()
    params = CreateSandboxFromImageParams(image="daytonaio/sandbox:latest", language="python")
    create = asyncio.ensure_future(daytona.create(params, timeout=180))

    def pack() -> bytes:
        return subprocess.run(
            ["tar", "-cf", "-", "-C", project, "."], capture_output=True, check=True
        ).stdout

    packing = asyncio.ensure_future(asyncio.to_thread(pack))
    anthropic = await asyncio.to_thread(importlib.import_module, "anthropic")
    client = anthropic.AsyncAnthropic(max_retries=0)
    tools = [
        {
            "name": "bash",
            "description": "Run a command",
            "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
        }
    ]
    messages: list = [{"role": "user", "content": "go"}]

    async def ready_sandbox():
        sandbox = await create
        await sandbox.fs.upload_file(await packing, "/tmp/project.tar")
        done = await sandbox.process.exec(
            f"mkdir -p {remote} && tar -xf /tmp/project.tar -C {remote} && rm /tmp/project.tar"
        )
        assert done.exit_code == 0, done.result
        return sandbox

    sandbox_ready = asyncio.ensure_future(ready_sandbox())
    async with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=1000, messages=messages, tools=tools
    ) as stream:
        first = await stream.get_final_message()
    call = next(b for b in first.content if b.type == "tool_use")
    sandbox = await sandbox_ready
    result = await sandbox.process.exec(call.input["command"], cwd=remote)
    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": result.result}],
        },
    ]
    async with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=1000, messages=messages, tools=tools
    ) as stream:
        await stream.get_final_message()
    await sandbox.delete()
    await daytona.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
