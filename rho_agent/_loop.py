"""The agent loop of one run: model turns, tool calls, stop reasons and limits.

The `Session` owns what outlives a run (the workspace, the trace, resume, metadata, cancel);
`Loop.run` takes a prompt to a `RunResult`, reading and extending the session's
`Conversation` (history and running totals) and emitting every step as an event.

What each stop reason does is one table, `ON_STOP`; a stop reason not in it ends the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from rho_agent.errors import RunError
from rho_agent.events import (
    Event,
    MessageAdded,
    ModelCall,
    ModelRetry,
    Notice,
    RunFinished,
    RunStarted,
    RunStatus,
    TextDelta,
    ThinkingDelta,
)
from rho_agent.model import Model, StreamCallbacks, TurnResult, Usage, unknown_price_notice
from rho_agent.store import append_message
from rho_agent.tool_calls import ToolCallRunner, tool_result
from rho_agent.tools import Approver, ToolContext

if TYPE_CHECKING:
    from rho_agent.agent import Agent
    from rho_agent.backends import Workspace

Emit = Callable[[Event], Awaitable[None]]

CUT_OFF_NOTE = (
    "[Your previous response was cut off at the output token limit before a tool call was "
    "complete; that call was not run. Continue, in smaller steps.]"
)

# (session id, model) pairs already warned that the model has no known price: once a session.
_WARNED: set[tuple[str, str]] = set()

# Why a tool call the model asked for got no result, by how the run ended.
_NOT_RUN = {
    "cancelled": "Not run: the user cancelled the run.",
    "max_cost": "Not run: the run's cost limit was reached.",
    "max_turns": "Not run: the run's turn limit was reached.",
}


class RunResult(BaseModel):
    """What one `Session.run` produced."""

    #: The final answer.
    text: str
    #: `completed`, `cancelled`, `error`, `max_turns`, `max_cost`, `refused` or `truncated`.
    status: RunStatus
    #: Input, output, cache-write and cache-read tokens of this run.
    usage: Usage
    #: What this run cost, in USD.
    cost_usd: float
    #: Model calls this run made.
    turns: int
    #: The session the run belongs to (`rho-agent main --resume ID` continues it).
    session_id: str
    #: A sentence saying what went wrong, when the run did not complete.
    error: str | None = None
    #: True when the model's price is unknown and `cost_usd` is at the fallback price.
    cost_estimated: bool = False

    @classmethod
    def of(cls, finished: RunFinished, session_id: str) -> RunResult:
        """The result a `run_finished` event reports (a trace read back)."""
        return cls(session_id=session_id, **finished.model_dump(exclude={"type", "time"}))

    def finished(self) -> RunFinished:
        """The `run_finished` event that reports this result."""
        return RunFinished(**self.model_dump(exclude={"session_id"}))

    @property
    def ok(self) -> bool:
        """Whether the run completed."""
        return self.status == "completed"


class Conversation(Protocol):
    """What a run reads and extends: the session's history, totals and last status."""

    history: list[dict[str, Any]]
    usage: Usage
    cost_usd: float
    turns: int
    status: str | None


@dataclass(frozen=True)
class CostLimit:
    """A spending limit for one run, on top of the agent's `max_cost_usd` (the tighter wins):
    e.g. what is left of a notebook kernel's budget. `name` ends the stop message."""

    usd: float
    name: str


@dataclass
class Stop:
    """The run ends with `status` (and `error`, if any)."""

    status: RunStatus
    error: str | None = None


@dataclass
class RunState:
    """One run so far."""

    usage: Usage = field(default_factory=Usage)
    turns: int = 0
    text: str = ""
    pending: list[dict[str, Any]] = field(default_factory=list)  # tool calls not yet answered
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


# A stop reason's handler gets the turn and its tool calls; None means "next turn".
Handler = Callable[["Loop", RunState, TurnResult, list[dict[str, Any]]], Awaitable[Stop | None]]


class Loop:
    """One run of a session: `await Loop(agent, model, workspace, session, emit, ...).run(...)`.

    Made afresh for each run, like the tool context it holds (a run's tools share `env`).
    """

    def __init__(
        self,
        agent: Agent,
        model: Model,
        workspace: Workspace,
        conversation: Conversation,
        emit: Emit,
        *,
        session_id: str,
        approver: Approver | None = None,
        limit: CostLimit | None = None,
    ) -> None:
        self.agent = agent
        own = agent.max_cost_usd
        # The tighter of the agent's own limit and the one given for this run.
        limits = [CostLimit(own, f"the limit of ${own:.4f}")] if own is not None else []
        limits += [limit] if limit is not None else []
        self.limit: CostLimit | None = min(limits, key=lambda x: x.usd) if limits else None
        self.model = model
        self.workspace = workspace
        self.conversation = conversation
        self.emit = emit
        self.session_id = session_id
        self.runner = ToolCallRunner(
            agent.tools,
            ToolContext(
                workspace=workspace,
                profile=agent.profile,
                env={},
                bash_timeout=agent.config.bash_timeout,
                databases=agent.databases,
            ),
            emit,
            auto_approve=agent.config.auto_approve,
            approver=approver,
        )
        self.schemas = [t.schema() for t in agent.tools]
        self._streamed_usage: Usage | None = None  # of the model call in progress

    async def run(self, prompt: str, system: Callable[[], str]) -> RunResult:
        """Send `prompt`; take turns until the model answers, a limit or an error stops it."""
        agent = self.agent
        run = RunState()
        stop = Stop("completed")
        await self.emit(RunStarted(session_id=self.session_id, prompt=prompt, model=agent.model))
        if agent.price.estimated and (self.session_id, agent.model) not in _WARNED:
            _WARNED.add((self.session_id, agent.model))
            await self.emit(Notice(message=unknown_price_notice(agent.model)))
        try:
            system_prompt = system()
            await self.add_message("user", [{"type": "text", "text": prompt}])
            while True:
                if run.turns >= agent.max_turns:
                    stop = Stop("max_turns")
                    break
                outcome = await self.turn(run, system_prompt)
                if outcome is not None:
                    stop = outcome
                    break
        except asyncio.CancelledError:
            stop = Stop("cancelled", "Cancelled by the user.")
            partial, self._streamed_usage = self._streamed_usage, None
            if partial is not None:  # a model call cut short is billed for what it used
                run.turns += 1
                run.usage = run.usage + partial
                await self.record_call(partial, "cancelled", 0.0)
        except RunError as exc:
            stop = Stop("error", exc.message)
        finally:
            if run.pending:
                reason = _NOT_RUN.get(stop.status, "Not run: the run stopped before this call.")
                await self.answer(run.pending, run.results, reason)
        cost = agent.price.cost(run.usage)
        if stop.status == "max_cost":
            estimated = (
                " (estimated: the model has no known price)" if agent.price.estimated else ""
            )
            assert self.limit is not None  # max_cost is only ever the limit's doing
            stop.error = f"Stopped: cost ${cost:.4f}{estimated} reached {self.limit.name}."
        elif stop.status == "max_turns":
            stop.error = f"Stopped: reached the limit of {agent.max_turns} turns."
        result = RunResult(
            text=run.text,
            status=stop.status,
            usage=run.usage,
            cost_usd=cost,
            turns=run.turns,
            session_id=self.session_id,
            error=stop.error,
            cost_estimated=agent.price.estimated,
        )
        self.conversation.status = stop.status
        await self.emit(result.finished())
        return result

    async def turn(self, run: RunState, system: str) -> Stop | None:
        """One model call and what its stop reason asks for; None: take another turn."""
        self._streamed_usage = None
        turn = await self._unless_workspace_fails(
            self.model.turn(
                system=system,
                tools=self.schemas,
                messages=self.conversation.history,
                callbacks=self._callbacks(),
            )
        )
        self._streamed_usage = None
        run.turns += 1
        run.usage = run.usage + turn.usage
        await self.record_call(turn.usage, turn.stop_reason, turn.duration_s)
        content = turn.content
        if turn.stop_reason == "max_tokens":
            # A tool call cut off mid-input must not run; drop it and ask to continue.
            content = [b for b in content if b.get("type") != "tool_use"]
        run.text = (
            "".join(b.get("text", "") for b in content if b.get("type") == "text") or run.text
        )
        if content:
            await self.add_message("assistant", content)
        calls = [b for b in content if b.get("type") == "tool_use"]
        handler = ON_STOP.get(turn.stop_reason or "", Loop.end)
        return await handler(self, run, turn, calls)

    # ------------------------------------------------------------ what each stop reason does

    async def run_tools(
        self, run: RunState, turn: TurnResult, calls: list[dict[str, Any]]
    ) -> Stop | None:
        """tool_use: run the calls, answer them all in one message, take another turn."""
        if not calls:
            return await self.end(run, turn, calls)
        run.pending, run.results = calls, {}
        over = self.over_limit(run)
        if over:
            return Stop(over)
        await self.runner.run_all(calls, run.results)
        await self.answer(run.pending, run.results, "")
        run.pending = []
        return None

    async def resume(self, run: RunState, turn: TurnResult, calls: list[dict[str, Any]]) -> None:
        """pause_turn: a server tool paused; sending the content back resumes it."""
        return None

    async def cut_off(
        self, run: RunState, turn: TurnResult, calls: list[dict[str, Any]]
    ) -> Stop | None:
        """max_tokens: ask the model to continue in smaller steps, unless a limit is reached."""
        if self.over_limit(run):
            return Stop("truncated")
        await self.add_message("user", [{"type": "text", "text": CUT_OFF_NOTE}])
        return None

    async def refused(self, run: RunState, turn: TurnResult, calls: list[dict[str, Any]]) -> Stop:
        """refusal: the run ends as refused, with the category the API gave."""
        category = (turn.stop_details or {}).get("category")
        return Stop(
            "refused", "The model declined to continue" + (f" ({category})" if category else "")
        )

    async def context_full(
        self, run: RunState, turn: TurnResult, calls: list[dict[str, Any]]
    ) -> Stop:
        """model_context_window_exceeded: the run ends as truncated."""
        return Stop(
            "truncated",
            "The conversation filled the model's context window; use /clear or a new session.",
        )

    async def end(self, run: RunState, turn: TurnResult, calls: list[dict[str, Any]]) -> Stop:
        """end_turn, stop_sequence and anything else: the model has answered."""
        return Stop("completed")

    # ------------------------------------------------------------ steps

    def over_limit(self, run: RunState) -> RunStatus | None:
        if self.limit is not None and self.agent.price.cost(run.usage) >= self.limit.usd:
            return "max_cost"
        if run.turns >= self.agent.max_turns:
            return "max_turns"
        return None

    async def add_message(self, role: str, content: list[dict[str, Any]]) -> None:
        append_message(self.conversation.history, role, content)
        await self.emit(MessageAdded(role=role, content=content))  # type: ignore[arg-type]

    async def answer(
        self, calls: list[dict[str, Any]], results: dict[str, dict[str, Any]], missing: str
    ) -> None:
        """One user message answering every call, in order; unanswered ones say why."""
        blocks = [
            results.get(c["id"]) or tool_result(c["id"], missing, is_error=True) for c in calls
        ]
        await self.add_message("user", blocks)

    async def record_call(
        self, call_usage: Usage, stop_reason: str | None, duration_s: float
    ) -> None:
        """Add one model call to the session's totals and announce it."""
        conv = self.conversation
        cost = self.agent.price.cost(call_usage)
        conv.usage, conv.cost_usd, conv.turns = (
            conv.usage + call_usage,
            conv.cost_usd + cost,
            conv.turns + 1,
        )
        await self.emit(
            ModelCall(
                model=self.agent.model,
                stop_reason=stop_reason,
                usage=call_usage,
                cost_usd=cost,
                duration_s=round(duration_s, 4),
                cost_estimated=self.agent.price.estimated,
            )
        )

    async def _unless_workspace_fails(self, call: Awaitable[TurnResult]) -> TurnResult:
        """Await a model call, unless the workspace's background provisioning fails first
        (a failed setup command): then the call is cancelled and that error raised."""
        workspace = self.workspace
        if workspace.failure is not None:
            close = getattr(call, "close", None)
            if close is not None:
                close()  # the model call never starts
            await workspace.ready()  # raises the failure, and marks it seen
            raise workspace.failure
        model = asyncio.ensure_future(call)
        ready = asyncio.ensure_future(workspace.ready())
        try:
            await asyncio.wait({model, ready}, return_when=asyncio.FIRST_COMPLETED)
            if ready.done() and not ready.cancelled():
                failure = ready.exception()
                if failure is not None:
                    raise failure
            return await model
        finally:
            for task in (model, ready):
                task.cancel()
            await asyncio.gather(model, ready, return_exceptions=True)

    def _callbacks(self) -> StreamCallbacks:
        async def on_text(text: str) -> None:
            await self.emit(TextDelta(text=text))

        async def on_thinking(text: str) -> None:
            await self.emit(ThinkingDelta(text=text))

        async def on_retry(attempt: int, error: str, delay: float) -> None:
            await self.emit(ModelRetry(attempt=attempt, error=error, delay_s=round(delay, 3)))

        def on_usage(so_far: Usage) -> None:
            self._streamed_usage = so_far

        return StreamCallbacks(
            on_text=on_text, on_thinking=on_thinking, on_retry=on_retry, on_usage=on_usage
        )


# stop_reason -> what the loop does next. Not listed ("end_turn", "stop_sequence", None,
# a reason the API adds later): the run ends, completed.
ON_STOP: dict[str, Handler] = {
    "tool_use": Loop.run_tools,
    "pause_turn": Loop.resume,
    "max_tokens": Loop.cut_off,
    "refusal": Loop.refused,
    "model_context_window_exceeded": Loop.context_full,
}
