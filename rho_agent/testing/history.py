"""Checks that a conversation is one the Messages API accepts."""

from __future__ import annotations

from typing import Any


def history_problems(messages: list[dict[str, Any]]) -> list[str]:
    """What is wrong with `messages` as a Messages API history ([] when it is valid).

    Checked: it starts with a user message, roles alternate, every `tool_use` is answered by
    a `tool_result` with its id in the very next (user) message, and every `tool_result`
    answers a `tool_use` of the message before it.
    """
    problems: list[str] = []
    if not messages:
        return ["the history is empty"]
    if messages[0].get("role") != "user":
        problems.append("the first message is not from the user")
    for i, message in enumerate(messages):
        if i and message.get("role") == messages[i - 1].get("role"):
            problems.append(f"messages {i - 1} and {i} are both from {message.get('role')}")
        blocks = message.get("content")
        blocks = blocks if isinstance(blocks, list) else []
        if message.get("role") == "assistant":
            asked = {b["id"] for b in blocks if b.get("type") == "tool_use"}
            if not asked:
                continue
            following = messages[i + 1] if i + 1 < len(messages) else None
            answered = set()
            if following is not None and isinstance(following.get("content"), list):
                answered = {
                    b.get("tool_use_id")
                    for b in following["content"]
                    if b.get("type") == "tool_result"
                }
            for missing in sorted(asked - answered):
                problems.append(
                    f"tool_use {missing} in message {i} has no tool_result in message {i + 1}"
                )
        else:
            results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
            if results:
                previous = messages[i - 1] if i else {}
                asked = {
                    b.get("id")
                    for b in previous.get("content", [])
                    if isinstance(b, dict) and b.get("type") == "tool_use"
                }
                for orphan in [r for r in results if r not in asked]:
                    problems.append(
                        f"tool_result {orphan} in message {i} answers no tool_use of message {i - 1}"
                    )
    return problems


def assert_valid_history(messages: list[dict[str, Any]]) -> None:
    """AssertionError listing every problem `history_problems` finds."""
    problems = history_problems(messages)
    assert not problems, "invalid history:\n  " + "\n  ".join(problems)
