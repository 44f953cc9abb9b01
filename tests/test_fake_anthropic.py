"""FakeAnthropic against the real `anthropic` SDK over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import anthropic
import httpx2
import pytest

from rho_agent.testing.fake_anthropic import (
    FakeAnthropic,
    TokenUsage,
    fault,
    load_script,
    main,
    redacted_thinking,
    reply,
    text,
    thinking,
    tool_call,
)

MODEL = "claude-sonnet-5-5"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            monkeypatch.delenv(name)


def client(fake: FakeAnthropic, **kwargs) -> anthropic.AsyncAnthropic:
    kwargs.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test-key", **kwargs)


async def stream_final(fake: FakeAnthropic, messages=HI, **kwargs):
    """(helper events, final message) of one `messages.stream()` call."""
    async with (
        client(fake, **kwargs) as c,
        c.messages.stream(model=MODEL, max_tokens=512, messages=messages) as s,
    ):
        events = [e async for e in s]
        return events, await s.get_final_message()


# -- content ------------------------------------------------------------------------------------


async def test_stream_accumulates_text_and_tool_use_from_split_json():
    call = tool_call("bash", {"command": "ls -la", "note": 'a "quote",\na newline and é'})
    async with FakeAnthropic([reply(text("I'll look around."), call, chunk=3)]) as fake:
        events, final = await stream_final(fake)

    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[0].text == "I'll look around."
    assert (final.content[1].id, final.content[1].name, final.content[1].input) == (
        call.id,
        "bash",
        call.input,
    )
    assert call.id.startswith("toolu_")
    assert final.stop_reason == "tool_use"
    assert sum(e.type == "text" for e in events) >= 3
    assert sum(e.type == "input_json" for e in events) > 10  # 3-character fragments

    (request,) = fake.requests
    assert request.stream and request.path == "/v1/messages"
    assert request.headers["x-stainless-helper-method"] == "stream"  # names are lower-case
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.messages == HI and request.body["model"] == MODEL
    fake.assert_done()


async def test_thinking_and_signature_survive_get_final_message():
    script = [
        reply(
            thinking("Let me think.", signature="sig-123"),
            redacted_thinking("opaque=="),
            text("Hi."),
        )
    ]
    async with FakeAnthropic(script) as fake:
        events, final = await stream_final(fake)
    assert [b.type for b in final.content] == ["thinking", "redacted_thinking", "text"]
    assert (final.content[0].thinking, final.content[0].signature) == ("Let me think.", "sig-123")
    assert final.content[1].data == "opaque=="
    assert any(e.type == "signature" for e in events)
    assert thinking("x").signature == thinking("x").signature != ""  # default: stable, non-empty


async def test_several_tool_calls_in_one_turn_raw_stream_and_non_stream():
    calls = [tool_call("read", {"path": f"f{i}.py"}) for i in range(3)]
    async with FakeAnthropic([reply(*calls), reply(*calls)]) as fake, client(fake) as c:
        stream = await c.messages.create(model=MODEL, max_tokens=100, messages=HI, stream=True)
        starts = [e.content_block async for e in stream if e.type == "content_block_start"]
        message = await c.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert [b.id for b in starts] == [c.id for c in calls]
    assert len({c.id for c in calls}) == 3
    assert [(b.id, b.input) for b in message.content] == [(c.id, c.input) for c in calls]
    assert message.stop_reason == "tool_use"
    assert [r.stream for r in fake.requests] == [True, False]
    assert message._request_id == fake.requests[1].request_id


@pytest.mark.parametrize("stream", [True, False])
async def test_explicit_stop_reasons(stream: bool):
    details = {"type": "refusal", "category": "cyber", "explanation": "no"}
    script = [
        reply(text("cut"), stop_reason="max_tokens"),
        reply(stop_reason="pause_turn"),
        reply(text("I can't help with that."), stop_reason="refusal", stop_details=details),
        reply(text("1, 2"), stop_sequence="3"),
    ]
    async with FakeAnthropic(script) as fake, client(fake) as c:
        got = []
        for _ in script:
            if stream:
                async with c.messages.stream(model=MODEL, max_tokens=9, messages=HI) as s:
                    got.append(await s.get_final_message())
            else:
                got.append(await c.messages.create(model=MODEL, max_tokens=9, messages=HI))
    assert [m.stop_reason for m in got] == ["max_tokens", "pause_turn", "refusal", "stop_sequence"]
    assert got[2].stop_details.category == "cyber"
    assert got[3].stop_sequence == "3"
    assert reply(stop_reason="refusal").stop_details == {
        "type": "refusal",
        "category": None,
        "explanation": None,
    }


async def test_callable_step_sees_the_tool_result():
    call = tool_call("bash", {"command": "echo hi"})
    script = [reply(call), lambda r: reply(text(f"The tool said: {r.last_user_text()}"))]
    async with FakeAnthropic(script) as fake, client(fake) as c:
        first = await c.messages.create(model=MODEL, max_tokens=100, messages=HI)
        result = {"type": "tool_result", "tool_use_id": first.content[0].id, "content": "hi\n"}
        messages = [
            *HI,
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [result]},
        ]
        second = await c.messages.create(model=MODEL, max_tokens=100, messages=messages)
    assert second.content[0].text == "The tool said: hi\n"
    assert fake.requests[1].tool_results == [result]
    assert fake.requests[1].messages[1]["content"][0]["id"] == call.id
    fake.assert_done()


def test_sync_client_and_sync_context_manager():
    with FakeAnthropic([reply(text("sync"))]) as fake:
        with anthropic.Anthropic(base_url=fake.base_url, api_key="test-key", max_retries=0) as c:
            message = c.messages.create(model=MODEL, max_tokens=10, messages=HI)
        assert fake.env() == {"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": "test-key"}
    assert message.content[0].text == "sync"
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url


def test_a_block_is_not_a_step():
    with pytest.raises(TypeError, match=r"wrap it: reply\(text\('hi'\)\)"):
        FakeAnthropic([text("hi")])


# -- usage --------------------------------------------------------------------------------------


async def test_usage_is_consistent_between_events_and_final_message():
    async with (
        FakeAnthropic([reply(text("Hello there, friend."))]) as fake,
        client(fake) as c,
        c.messages.stream(model=MODEL, max_tokens=10, messages=HI) as s,
    ):
        raw = [e async for e in s if e.type in ("message_start", "message_delta")]
        final = await s.get_final_message()
    start, delta = raw[0].message.usage, raw[1].usage
    assert final.usage.input_tokens == start.input_tokens == delta.input_tokens > 0
    assert final.usage.output_tokens == delta.output_tokens == 5  # 20 characters / 4
    assert start.output_tokens == 1
    assert final.usage.cache_read_input_tokens == final.usage.cache_creation_input_tokens == 0


async def test_default_cache_usage_follows_breakpoints():
    system = [
        {"type": "text", "text": "You are helpful. " * 40, "cache_control": {"type": "ephemeral"}}
    ]
    turn1 = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "q1", "cache_control": {"type": "ephemeral"}}],
        }
    ]
    turn2 = [
        {"role": "user", "content": [{"type": "text", "text": "q1"}]},
        {"role": "assistant", "content": "a1"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "q2 " * 30, "cache_control": {"type": "ephemeral"}}
            ],
        },
    ]
    script = [
        reply(text("a1")),
        reply(text("a2")),
        reply(text("a3"), usage=TokenUsage(input=7, cache_read=3)),
    ]
    async with FakeAnthropic(script) as fake, client(fake) as c:
        counted = await c.messages.count_tokens(model=MODEL, system=system, messages=turn1)
        u1 = (
            await c.messages.create(model=MODEL, max_tokens=9, system=system, messages=turn1)
        ).usage
        u2 = (
            await c.messages.create(model=MODEL, max_tokens=9, system=system, messages=turn2)
        ).usage
        u3 = (await c.messages.create(model=MODEL, max_tokens=9, messages=HI)).usage

    assert u1.cache_read_input_tokens == 0 and u1.cache_creation_input_tokens > 100
    assert u1.input_tokens == 0  # the last block is the breakpoint
    assert counted.input_tokens == u1.input_tokens + u1.cache_creation_input_tokens
    # Turn 2 reads turn 1's whole prompt back and writes only the new part.
    assert u2.cache_read_input_tokens == u1.cache_creation_input_tokens
    assert 0 < u2.cache_creation_input_tokens < u2.cache_read_input_tokens
    assert u2.cache_creation.ephemeral_5m_input_tokens == u2.cache_creation_input_tokens
    assert (u3.input_tokens, u3.cache_read_input_tokens, u3.cache_creation_input_tokens) == (
        7,
        3,
        0,
    )
    assert len(fake.count_tokens_requests) == 1 and len(fake.requests) == 3


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", [fault.rate_limited(), fault.overloaded(), fault.server_error()])
async def test_retryable_fault_then_success(first):
    async with FakeAnthropic([first, reply(text("ok"))]) as fake:
        started = time.monotonic()
        _, final = await stream_final(fake, max_retries=2)
    assert final.content[0].text == "ok"
    assert time.monotonic() - started < 0.4  # retry-after-ms: 1, not the SDK's 0.5 s backoff
    assert [r.headers["x-stainless-retry-count"] for r in fake.requests] == ["0", "1"]
    fake.assert_done()


@pytest.mark.parametrize(
    ("step", "error", "status", "error_type"),
    [
        (fault.rate_limited(), anthropic.RateLimitError, 429, "rate_limit_error"),
        (fault.overloaded(), anthropic.OverloadedError, 529, "overloaded_error"),
        (fault.server_error(), anthropic.InternalServerError, 500, "api_error"),
        (fault.unauthorized(), anthropic.AuthenticationError, 401, "authentication_error"),
        (
            fault.http_error(400, "invalid_request_error", "prompt is too long"),
            anthropic.BadRequestError,
            400,
            None,
        ),
    ],
)
async def test_http_faults_as_the_sdk_raises_them(step, error, status, error_type):
    async with FakeAnthropic([step]) as fake, client(fake) as c:
        with pytest.raises(error) as info:
            await c.messages.create(model=MODEL, max_tokens=9, messages=HI)
    assert info.value.status_code == status
    assert info.value.type == (error_type or "invalid_request_error")
    assert info.value.request_id == fake.requests[0].request_id


async def test_unauthorized_forever():
    async with (
        FakeAnthropic([fault.unauthorized(times=None)]) as fake,
        client(fake, max_retries=2) as c,
    ):
        for _ in range(3):
            with pytest.raises(anthropic.AuthenticationError):
                await c.messages.create(model=MODEL, max_tokens=9, messages=HI)
    assert len(fake.requests) == 3  # 401 is not retried
    fake.assert_done()


async def test_mid_stream_error_is_a_generic_status_error():
    async with FakeAnthropic([fault.stream_error(after_events=4)]) as fake:
        with pytest.raises(anthropic.APIStatusError) as info:
            await stream_final(fake, max_retries=2)
    assert type(info.value) is anthropic.APIStatusError  # not OverloadedError
    assert (info.value.status_code, info.value.type) == (200, "overloaded_error")
    assert len(fake.requests) == 1  # the SDK does not retry after the headers


async def test_stream_error_on_a_non_stream_request_is_the_http_error():
    async with FakeAnthropic([fault.stream_error()]) as fake, client(fake) as c:
        with pytest.raises(anthropic.OverloadedError):
            await c.messages.create(model=MODEL, max_tokens=9, messages=HI)


async def test_dropped_connection_mid_stream_raises_raw_httpx2_error():
    async with FakeAnthropic([fault.drop_connection(after_events=3)]) as fake:
        with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
            await stream_final(fake, max_retries=2)
    assert len(fake.requests) == 1


async def test_dropped_connection_on_a_non_stream_request_is_a_connection_error():
    async with (
        FakeAnthropic([fault.drop_connection(), fault.slow_first_byte(0)]) as fake,
        client(fake) as c,
    ):
        for _ in range(2):  # half a JSON body, then no response at all
            with pytest.raises(anthropic.APIConnectionError) as info:
                await c.messages.create(model=MODEL, max_tokens=9, messages=HI)
            assert isinstance(info.value.__cause__, httpx2.RemoteProtocolError)
    fake.assert_done()


async def test_delay_paces_the_stream_and_add_extends_the_script():
    async with FakeAnthropic() as fake:
        fake.add(reply(text("abc"), delay=0.02))
        started = time.monotonic()
        _, final = await stream_final(fake)
    assert final.content[0].text == "abc"
    assert time.monotonic() - started >= 0.02 * 7  # 8 events, 7 pauses


async def test_slow_first_byte_times_out_or_answers_late():
    script = [
        fault.slow_first_byte(2, then=reply(text("too late"))),
        fault.slow_first_byte(0.2, then=reply(text("late"))),
    ]
    async with FakeAnthropic(script) as fake:
        with pytest.raises(anthropic.APITimeoutError):
            await stream_final(fake, timeout=0.3)
        _, final = await stream_final(fake)
    assert final.content[0].text == "late"
    fake.assert_done()


# -- strictness ---------------------------------------------------------------------------------


async def test_unexpected_request_fails_at_once_and_is_reported():
    async with FakeAnthropic([reply(text("one"))]) as fake, client(fake, max_retries=2) as c:
        await c.messages.create(model=MODEL, max_tokens=9, messages=HI)
        with pytest.raises(
            anthropic.InternalServerError, match=r"unexpected request #2 \(script has 1 steps\)"
        ):
            await c.messages.create(model=MODEL, max_tokens=9, messages=HI)
    assert len(fake.requests) == 2  # x-should-retry: false
    with pytest.raises(AssertionError, match="unexpected request #2"):
        fake.assert_done()


async def test_unused_steps_and_failing_callables_are_reported():
    def broken(request):
        raise KeyError("oops")

    script = [broken, fault.overloaded(times=3), reply(text("never"))]
    async with FakeAnthropic(script) as fake, client(fake) as c:
        with pytest.raises(anthropic.InternalServerError, match="callable step"):
            await c.messages.create(model=MODEL, max_tokens=9, messages=HI)
        with pytest.raises(anthropic.OverloadedError):
            await c.messages.create(model=MODEL, max_tokens=9, messages=HI)
    with pytest.raises(AssertionError) as info:
        fake.assert_done()
    report = str(info.value)
    assert "KeyError('oops')" in report
    assert "step 1 answered 1 of 3 times: fault.overloaded()" in report
    assert "step 2 was never used: reply(text('never'), stop_reason='end_turn')" in report


# -- the JSON form and the command line ---------------------------------------------------------


def test_json_script_mirrors_the_helpers():
    steps = load_script(
        [
            {
                "reply": [
                    {"text": "a"},
                    {"tool_call": "bash", "input": {"command": "ls"}, "id": "toolu_1"},
                ]
            },
            {
                "reply": [{"thinking": "t", "signature": "s"}, {"redacted_thinking": "d"}],
                "usage": {"output": 3},
            },
            {"fault": "rate_limited", "retry_after": 1},
            {
                "fault": "slow_first_byte",
                "seconds": 1,
                "then": {"reply": [], "stop_reason": "pause_turn"},
            },
        ]
    )
    assert steps == [
        reply(text("a"), tool_call("bash", {"command": "ls"}, id="toolu_1")),
        reply(thinking("t", signature="s"), redacted_thinking("d"), usage=TokenUsage(output=3)),
        fault.rate_limited(retry_after=1),
        fault.slow_first_byte(1, then=reply(stop_reason="pause_turn")),
    ]
    with pytest.raises(ValueError, match="step 0: unknown fault 'overload'"):
        load_script([{"fault": "overload"}])
    with pytest.raises(ValueError, match=r"step 0.reply\[0\]: a block needs exactly one"):
        load_script([{"reply": [{"txt": "a"}]}])


def test_cli_rejects_a_bad_script(tmp_path, capsys):
    bad = tmp_path / "script.json"
    bad.write_text('{"reply": []}')
    assert main([str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"Error: {bad}: ")


def test_cli_serves_a_json_script(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"reply": [{"text": "from the CLI"}]}]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rho_agent.testing.fake_anthropic", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        exported = dict(
            proc.stdout.readline().removeprefix("export ").strip().split("=", 1) for _ in range(2)
        )
        assert exported["ANTHROPIC_API_KEY"] == "test-key"
        c = anthropic.Anthropic(
            base_url=exported["ANTHROPIC_BASE_URL"], api_key="test-key", max_retries=0
        )
        with c:
            message = c.messages.create(model=MODEL, max_tokens=9, messages=HI)
        assert message.content[0].text == "from the CLI"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err  # SIGTERM is a clean stop; the script was used up
    assert "1 requests served" in err


async def test_streams_are_not_held_back_by_nagles_algorithm():
    """Each SSE event is its own small write: without TCP_NODELAY, every one after the first
    waits for the client's delayed ACK (~40 ms a turn, noise in every benchmark)."""
    import socket

    script = [reply(text("one"), tool_call("bash", {"command": "ls"})), reply(text("two"))]
    with FakeAnthropic(script) as fake:
        sdk = client(fake)
        for _ in range(2):
            async with sdk.messages.stream(model="m", max_tokens=10, messages=HI) as s:
                await s.get_final_message()
        connections = list(fake._connections)  # the client's kept-alive connection
        assert connections
        for conn in connections:
            assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        await sdk.close()
