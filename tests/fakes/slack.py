"""A faithful Slack incoming-webhook receiver.

Answers like ``hooks.slack.com``: ``200`` with body ``ok`` (text/plain) for a valid message;
``400 invalid_payload`` for a body that is not a JSON object; ``400 no_text`` when neither
``text`` nor ``blocks`` is given; ``400 invalid_blocks`` when a block breaks Block Kit's
documented limits (50 blocks; header plain_text ≤ 150; section text ≤ 3000, ≤ 10 fields each
≤ 2000; context ≤ 10 elements; actions ≤ 25 elements, button text plain_text ≤ 75, url ≤ 3000).
"""

from __future__ import annotations

import json
from typing import Any

from fakes.http_receiver import HttpReceiver, Received, Reply

BLOCK_TYPES = {"header", "section", "context", "actions", "divider", "image", "rich_text"}


def _text_obj(obj: Any, where: str, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in {"plain_text", "mrkdwn"}:
        return [f"{where}: not a text object"]
    if plain_only and obj["type"] != "plain_text":
        return [f"{where}: must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}.text: required"]
    if len(text) > limit:
        return [f"{where}.text: longer than {limit}"]
    return []


def _section(block: dict[str, Any], where: str) -> list[str]:
    errors: list[str] = []
    if "text" not in block and "fields" not in block:
        errors.append(f"{where}: needs text or fields")
    if "text" in block:
        errors += _text_obj(block["text"], f"{where}.text", 3000)
    fields = block.get("fields", [])
    if not isinstance(fields, list) or len(fields) > 10:
        return [*errors, f"{where}.fields: at most 10"]
    return errors + [
        e for j, f in enumerate(fields) for e in _text_obj(f, f"{where}.fields[{j}]", 2000)
    ]


def _context(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        return [f"{where}.elements: 1 to 10"]
    return [e for j, el in enumerate(elements) for e in _text_obj(el, f"{where}[{j}]", 3000)]


def _button(el: Any, where: str) -> list[str]:
    if not isinstance(el, dict) or el.get("type") != "button":
        return [f"{where}: only buttons are checked"]
    errors = _text_obj(el.get("text"), f"{where}.text", 75, plain_only=True)
    url = el.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > 3000):
        errors.append(f"{where}.url: string of at most 3000")
    return errors


def _actions(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
        return [f"{where}.elements: 1 to 25"]
    return [e for j, el in enumerate(elements) for e in _button(el, f"{where}.elements[{j}]")]


def _header(block: dict[str, Any], where: str) -> list[str]:
    return _text_obj(block.get("text"), f"{where}.text", 150, plain_only=True)


CHECKS = {"header": _header, "section": _section, "context": _context, "actions": _actions}


def _block_errors(block: Any, i: int) -> list[str]:
    where = f"blocks[{i}]"
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return [f"{where}: unknown block type"]
    check = CHECKS.get(block["type"])
    return check(block, where) if check is not None else []


def slack_errors(message: Any) -> tuple[str, list[str]]:
    """Return Slack's error code for ``message`` ("" if valid) and the reasons."""
    if not isinstance(message, dict):
        return "invalid_payload", ["not a JSON object"]
    blocks = message.get("blocks")
    if not message.get("text") and not blocks:
        return "no_text", ["neither text nor blocks"]
    if blocks is None:
        return "", []
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks", ["blocks: a list of at most 50"]
    errors = [e for i, b in enumerate(blocks) for e in _block_errors(b, i)]
    return ("invalid_blocks" if errors else ""), errors


def _respond(req: Received) -> Reply:
    try:
        message = json.loads(req.body)
    except ValueError:
        message = None
    code, _ = slack_errors(message)
    if code:
        return Reply(400, code.encode(), {"Content-Type": "text/plain"})
    return Reply(200, b"ok", {"Content-Type": "text/plain"})


def slack_receiver() -> HttpReceiver:
    """Return a Slack incoming-webhook fake (POST to any path under its URL)."""
    return HttpReceiver(_respond)
