"""Running the tool calls of one assistant turn: permissions, approvals, concurrency.

Read-only calls that stand next to each other run concurrently; anything that may
change the workspace runs alone, in the order the model gave.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from rho_agent.events import ApprovalRequested, Event, ToolCallFinished, ToolCallStarted, ToolDenied
from rho_agent.permissions.profile import ApprovalMode, Capability, Profile
from rho_agent.tools import Approver, Tool, ToolContext, ToolResult

Emit = Callable[[Event], Awaitable[None]]


async def approval_reason(
    profile: Profile, tool: Tool, tool_input: dict[str, Any], ctx: ToolContext
) -> str | None:
    """Why this call needs the user's approval under `profile`, or None.

    Under `dangerous` (and for `network` tools under `all`) the tool gives its own reason
    for the validated input; input that does not validate is not asked about, since the
    call fails validation anyway.
    """
    mode = profile.approvals
    if mode is ApprovalMode.none:
        return None
    if mode is ApprovalMode.listed:
        return (
            f"{tool.name} is listed for approval" if tool.name in profile.approval_tools else None
        )
    if tool.read_only:
        return None
    if mode is ApprovalMode.all and tool.capability is not Capability.network:
        return f"{tool.name} can change the workspace"
    try:
        params = tool.Params.model_validate(tool_input)
    except ValidationError:
        return None  # the call fails validation: there is nothing to approve
    reason = await tool.approval_reason(params, ctx)
    if mode is ApprovalMode.all:  # every call of a network tool, with its own reason if any
        return reason or f"{tool.name} uses the network"
    return reason


class ToolCallRunner:
    def __init__(
        self,
        tools: list[Tool],
        ctx: ToolContext,
        emit: Emit,
        *,
        auto_approve: bool,
        approver: Approver | None,
    ) -> None:
        self._tools = {t.name: t for t in tools}
        self._ctx = ctx
        self._emit = emit
        self._auto_approve = auto_approve
        self._approver = approver

    async def run_all(
        self, calls: list[dict[str, Any]], results: dict[str, dict[str, Any]]
    ) -> None:
        """Run `calls` (tool_use blocks), filling `results` by tool_use id as each one finishes.

        `results` is the caller's, so what finished survives a cancellation.
        """
        for group in _groups(calls, self._tools):
            if len(group) == 1:
                results[call_parts(group[0])[0]] = await self._run_one(group[0])
            else:
                done = await asyncio.gather(*(self._run_one(c) for c in group))
                for call, result in zip(group, done, strict=True):
                    results[call_parts(call)[0]] = result

    async def _run_one(self, call: dict[str, Any]) -> dict[str, Any]:
        call_id, name, tool_input = call_parts(call)
        problem = malformed(call)
        if problem is not None:
            await self._emit(ToolDenied(id=call_id, name=name, reason=problem))
            return tool_result(call_id, problem, is_error=True)
        tool = self._tools.get(name)
        if tool is None:
            reason = f"Unknown tool '{name}'. Available tools: {', '.join(self._tools)}."
            await self._emit(ToolDenied(id=call_id, name=name, reason=reason))
            return tool_result(call_id, reason, is_error=True)
        reason = None
        if not self._auto_approve:  # resolving paths may cost a round trip: only when it matters
            reason = await approval_reason(self._ctx.profile, tool, tool_input, self._ctx)
        if reason is not None:
            await self._emit(
                ApprovalRequested(id=call_id, name=name, input=tool_input, reason=reason)
            )
            if self._approver is None:
                denial = (
                    f"Not run: this call needs the user's approval ({reason}) and no one can approve it "
                    "in this session. Do not retry it; say what you wanted to do instead."
                )
                await self._emit(ToolDenied(id=call_id, name=name, reason=denial))
                return tool_result(call_id, denial, is_error=True)
            if not await self._approver(name, tool_input):
                denial = (
                    "The user declined this call. Do not retry it; ask or take another approach."
                )
                await self._emit(ToolDenied(id=call_id, name=name, reason=denial))
                return tool_result(call_id, denial, is_error=True)
        await self._emit(ToolCallStarted(id=call_id, name=name, input=tool_input))
        started = time.monotonic()
        result: ToolResult = await tool(tool_input, self._ctx)
        await self._emit(
            ToolCallFinished(
                id=call_id,
                name=name,
                output=result.text,
                is_error=result.is_error,
                duration_s=round(time.monotonic() - started, 4),
                denied=result.denied,
            )
        )
        if result.denied:  # the profile refused it: the model reads the same error result
            await self._emit(ToolDenied(id=call_id, name=name, reason=result.text))
        return tool_result(call_id, result.text, is_error=result.is_error)


def call_parts(call: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A tool_use block's id, name and input, as well as they can be read."""
    name, tool_input = call.get("name"), call.get("input")
    return (
        str(call.get("id", "")),
        name if isinstance(name, str) else "",
        tool_input if isinstance(tool_input, dict) else {},
    )


def malformed(call: dict[str, Any]) -> str | None:
    """What is wrong with a tool_use block that cannot be run as given, or None."""
    name, tool_input = call.get("name"), call.get("input")
    if not isinstance(name, str) or not name:
        return "Malformed tool call: it has no tool name. Call a tool by its name."
    if tool_input is not None and not isinstance(tool_input, dict):
        return (
            f"Malformed tool call: the input of {name} must be a JSON object of its "
            f"parameters, not {type(tool_input).__name__}."
        )
    return None


def tool_result(tool_use_id: str, text: str, *, is_error: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": text or "(empty)",
    }
    if is_error:
        block["is_error"] = True
    return block


def _groups(calls: list[dict[str, Any]], tools: dict[str, Tool]) -> list[list[dict[str, Any]]]:
    """Consecutive read-only calls form one group; every other call is a group of its own."""
    groups: list[list[dict[str, Any]]] = []
    previous_read_only = False
    for call in calls:
        name = call.get("name")
        tool = tools.get(name) if isinstance(name, str) else None
        read_only = tool is not None and tool.read_only and malformed(call) is None
        if read_only and previous_read_only:
            groups[-1].append(call)
        else:
            groups.append([call])
        previous_read_only = read_only
    return groups
