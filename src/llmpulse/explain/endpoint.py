"""`LogprobsEndpoint`: an OpenAI-compatible endpoint that scores and generates text.

Two calls of the OpenAI wire format, as OpenAI's legacy completions, vLLM and llama.cpp's
server answer them:

* scoring a fixed continuation (teacher forcing, METHODS.md §5.5): ``POST /completions`` with
  ``prompt = prefix + continuation``, ``echo: true``, ``max_tokens: 0`` and ``logprobs: 0``;
  the answer's ``logprobs.tokens``/``token_logprobs``/``text_offset`` give every prompt
  token's log-prob, and those starting at or after the prefix's end are the continuation's;
* generating an answer (the what-if): ``POST /chat/completions`` with ``temperature: 0``.

Requests go through `llmpulse.http_retry.post_json` (the judge's retry loop too): 429, 5xx and
connection errors are retried with back-off that honours ``Retry-After`` (seconds or an HTTP
date, at most 30 s); other errors raise `EndpointError` with the endpoint's message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from llmpulse.clock import Clock, SystemClock
from llmpulse.domain.errors import LlmpulseError
from llmpulse.http_retry import RetryPolicy, post_json


class EndpointError(LlmpulseError):
    """The endpoint refused or failed a request (502: the fault is upstream)."""

    status = 502
    title = "Bad gateway"


@dataclass(frozen=True)
class ScoredToken:
    """One continuation token: its offset in the continuation and its natural log-prob."""

    offset: int
    logprob: float


class LogprobsEndpoint:
    """An OpenAI-compatible base URL (``http://host:8000/v1``), a model and an optional key."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        concurrency: int = 4,
        clock: Clock | None = None,
    ) -> None:
        """Prepare the client (connections open on first use)."""
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout_s)
        self._clock = clock or SystemClock()
        self._retry = RetryPolicy(max_retries, 0.25, 8.0, max_retry_after_s=30.0)
        self._slots = asyncio.Semaphore(concurrency)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        def error(detail: str) -> EndpointError:
            return EndpointError(f"{self.base_url}{path}: {detail}")

        async with self._slots:
            doc, _ = await post_json(
                self._http, path, body, policy=self._retry, now=self._clock.now,
                error=error,
            )  # fmt: skip
        return doc

    async def score(self, prefix: str, continuation: str) -> list[ScoredToken]:
        """Log-prob of each continuation token after ``prefix`` (teacher forcing).

        Raises:
            EndpointError: the endpoint failed or answered without prompt log-probs.
        """
        body = {
            "model": self.model,
            "prompt": prefix + continuation,
            "echo": True,
            "max_tokens": 0,
            "logprobs": 0,
            "temperature": 0,
        }
        doc = await self._post("/completions", body)
        try:
            lp = doc["choices"][0]["logprobs"]
            offsets: Sequence[int] = lp["text_offset"]
            values: Sequence[float | None] = lp["token_logprobs"]
        except (KeyError, IndexError, TypeError) as exc:
            raise EndpointError("completions answer has no logprobs (echo unsupported?)") from exc
        start = len(prefix)
        total = len(prefix) + len(continuation)
        out = [
            ScoredToken(int(o) - start, float(v))
            for o, v in zip(offsets, values, strict=False)
            if start <= int(o) < total and v is not None
        ]
        if not out:
            raise EndpointError("the endpoint scored no token of the continuation")
        return out

    async def generate(self, messages: Sequence[dict[str, str]], max_tokens: int = 256) -> str:
        """The assistant's greedy reply to chat messages."""
        body = {
            "model": self.model,
            "messages": list(messages),
            "temperature": 0,
            "max_tokens": max_tokens,
        }
        doc = await self._post("/chat/completions", body)
        try:
            return str(doc["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise EndpointError("chat answer has no message content") from exc

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embedding vectors of ``texts`` from ``POST /embeddings``, in input order."""
        doc = await self._post("/embeddings", {"model": self.model, "input": list(texts)})
        try:
            rows = sorted(doc["data"], key=lambda d: int(d["index"]))
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise EndpointError("embeddings answer has no data[].embedding") from exc
        if len(vectors) != len(texts):
            raise EndpointError(f"asked {len(texts)} embeddings, got {len(vectors)}")
        return vectors
