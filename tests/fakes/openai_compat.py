"""A local OpenAI-compatible server backed by a small deterministic language model.

Speaks the wire format of OpenAI's API as vLLM and llama.cpp's server also serve it:

* ``POST /v1/chat/completions``: ``messages`` → ``choices[0].message.content``; with
  ``logprobs: true`` and ``top_logprobs: k``, ``choices[0].logprobs.content`` lists each token
  with ``token``, ``logprob``, ``bytes`` and ``top_logprobs``.
* ``POST /v1/completions``: ``prompt`` → ``choices[0].text``; ``logprobs: k`` gives
  ``tokens``, ``token_logprobs``, ``top_logprobs`` (dicts) and ``text_offset``; ``echo: true``
  with ``max_tokens: 0`` scores the prompt itself (the first token's log-prob is ``null``, as
  vLLM answers), which is how a given continuation is scored (teacher forcing).
* ``POST /v1/embeddings``: hashed bag-of-words vectors (64 dims, unit length).
* ``usage`` with ``prompt_tokens``, ``completion_tokens``, ``total_tokens`` on every answer.

The model is `cache_lm.CacheLM`. A ``responder`` replaces greedy generation for chat (a judge
that answers from the prompt); its text is then scored by the model for ``logprobs``.
Faults: ``latency_s`` delays every answer; ``fake.receiver.script`` queues replies answered
first (use `rate_limited` and `server_error`); ``api_key`` makes it answer 401 without
``Authorization: Bearer <key>``. Errors use OpenAI's body ``{"error": {"message", "type",
"param", "code"}}``.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from fakes.cache_lm import generate, score, tokenize
from fakes.http_receiver import HttpReceiver, Received, Reply

Responder = Callable[[list[dict[str, Any]]], str]
"""Chat messages → the assistant's reply text."""


def error_reply(status: int, message: str, kind: str, param: str | None = None) -> Reply:
    """An OpenAI-style error answer."""
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


def rate_limited(retry_after_s: float = 1.0) -> Reply:
    """A 429 with ``Retry-After`` (seconds), as OpenAI sends when over a rate limit."""
    reply = error_reply(429, "Rate limit reached", "requests", None)
    reply.headers["Retry-After"] = f"{retry_after_s:g}"
    return reply


def server_error(status: int = 500) -> Reply:
    """A 5xx OpenAI-style error."""
    return error_reply(
        status, "The server had an error while processing your request.", "server_error"
    )


def _prompt_of(messages: list[dict[str, Any]]) -> str:
    parts = [f"{m.get('role', 'user')}: {m.get('content') or ''}\n" for m in messages]
    return "".join(parts) + "assistant:"


def _top_entries(top: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top]


def _embed(text: str, dims: int = 64) -> list[float]:
    vec = [0.0] * dims
    for tok in tokenize(text.lower()):
        word = tok.strip()
        if word:
            h = hashlib.sha256(word.encode()).digest()
            vec[h[0] % dims] += 1.0 if h[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


class OpenAICompatFake:
    """The fake server; use ``with fake.receiver:`` and point clients at ``fake.url``."""

    def __init__(
        self,
        responder: Responder | None = None,
        latency_s: float = 0.0,
        api_key: str | None = None,
    ) -> None:
        """Configure the reply text, the delay per request and the required key."""
        self.responder = responder
        self.latency_s = latency_s
        self.api_key = api_key
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.receiver = HttpReceiver(self._respond)

    @property
    def url(self) -> str:
        """Base URL including ``/v1``, as OpenAI clients take it."""
        return self.receiver.url + "/v1"

    @property
    def requests(self) -> list[Received]:
        """Every request received, in order."""
        return self.receiver.requests

    def _respond(self, req: Received) -> Reply:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            return self._answer(req)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, req: Received) -> Reply:
        if self.api_key and req.headers.get("authorization") != f"Bearer {self.api_key}":
            return error_reply(401, "Incorrect API key provided.", "invalid_request_error")
        try:
            body = json.loads(req.body)
        except ValueError:
            return error_reply(400, "We could not parse the JSON body.", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return error_reply(
                400, "you must provide a model parameter", "invalid_request_error", "model"
            )
        path = req.path.split("?")[0]
        handlers = {
            "/v1/chat/completions": self._chat,
            "/v1/completions": self._completions,
            "/v1/embeddings": self._embeddings,
        }
        handler = handlers.get(path)
        if handler is None:
            return error_reply(404, f"Unknown request URL: POST {path}", "invalid_request_error")
        doc = handler(body)
        if isinstance(doc, Reply):
            return doc
        return Reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})

    def _chat(self, body: dict[str, Any]) -> dict[str, Any] | Reply:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return error_reply(400, "messages is required", "invalid_request_error", "messages")
        prompt = _prompt_of(messages)
        k = int(body.get("top_logprobs") or 0)
        if self.responder is not None:
            text = self.responder(messages)
            scored = score(prompt, text)
        else:
            stop = body.get("stop") or []
            stops = [stop] if isinstance(stop, str) else list(stop)
            max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
            gen = generate(prompt, max_tokens, stops)
            text = "".join(t for t, _ in gen)
            scored = score(prompt, text)
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": None,
        }
        if body.get("logprobs"):
            choice["logprobs"] = {
                "content": [
                    {**_top_entries([(t, lp)])[0], "top_logprobs": _top_entries(top[:k])}
                    for t, lp, top in scored
                ]
            }
        return self._envelope("chat.completion", body["model"], [choice], prompt, len(scored))

    def _completions(self, body: dict[str, Any]) -> dict[str, Any] | Reply:
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            return error_reply(400, "prompt must be a string", "invalid_request_error", "prompt")
        max_tokens = body.get("max_tokens", 16)
        stop = body.get("stop") or []
        gen = generate(prompt, int(max_tokens), [stop] if isinstance(stop, str) else list(stop))
        text = "".join(t for t, _ in gen)
        k = body.get("logprobs")
        rows: list[tuple[str, float | None, list[tuple[str, float]]]] = []
        if body.get("echo"):
            rows += [
                (t, None if i == 0 else lp, top) for i, (t, lp, top) in enumerate(score("", prompt))
            ]
        rows += list(score(prompt, text))
        choice: dict[str, Any] = {
            "index": 0,
            "text": (prompt if body.get("echo") else "") + text,
            "finish_reason": "length" if len(gen) == int(max_tokens) else "stop",
            "logprobs": None,
        }
        if k is not None:
            offsets, pos = [], 0
            for t, _, _ in rows:
                offsets.append(pos)
                pos += len(t)
            choice["logprobs"] = {
                "tokens": [t for t, _, _ in rows],
                "token_logprobs": [lp for _, lp, _ in rows],
                "top_logprobs": [
                    None if lp is None else dict(top[: int(k)]) for _, lp, top in rows
                ],
                "text_offset": offsets,
            }
        return self._envelope("text_completion", body["model"], [choice], prompt, len(gen))

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any] | Reply:
        inputs = body.get("input")
        items = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            return error_reply(
                400,
                "input must be a string or an array of strings",
                "invalid_request_error",
                "input",
            )
        data = [
            {"object": "embedding", "index": i, "embedding": _embed(x)} for i, x in enumerate(items)
        ]
        n = sum(len(tokenize(x)) for x in items)
        return {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": n, "total_tokens": n},
        }

    def _envelope(
        self, kind: str, model: str, choices: list[dict[str, Any]], prompt: str, n_out: int
    ) -> dict[str, Any]:
        n_in = len(tokenize(prompt))
        with self._lock:
            seq = len(self.receiver.requests)
        return {
            "id": f"cmpl-{seq}",
            "object": kind,
            "created": 1_700_000_000,
            "model": model,
            "choices": choices,
            "usage": {
                "prompt_tokens": n_in,
                "completion_tokens": n_out,
                "total_tokens": n_in + n_out,
            },
        }
