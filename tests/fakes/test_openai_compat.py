"""The OpenAI-compatible fake, read by the official ``openai`` client and by raw HTTP."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from fakes.cache_lm import CacheLM, tokenize
from fakes.openai_compat import OpenAICompatFake, rate_limited, server_error

_OPEN: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _client(fake: OpenAICompatFake, **kw: Any) -> openai.OpenAI:
    client = openai.OpenAI(base_url=fake.url, api_key="sk-test", **{"max_retries": 0, **kw})
    _OPEN.append(client)
    return client


def test_cache_lm_is_a_distribution_over_its_vocabulary() -> None:
    lm = CacheLM()
    lm.feed(tokenize("the cat sat on the mat. the cat"))
    seen = {" cat", " sat", " on", " the", " mat", ".", "the"}
    mass_seen = sum(lm.prob(t) for t in seen)
    # every other token gets the uniform floor; seen plus unseen mass is one
    floor = lm.w.uniform / 50_000
    assert math.isclose(mass_seen + (50_000 - len(seen)) * floor, 1.0, rel_tol=1e-9)


def test_chat_completion_with_logprobs_through_the_openai_client() -> None:
    fake = OpenAICompatFake()
    with fake.receiver:
        r = _client(fake).chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "Paris is the capital of France. Paris is"}],
            logprobs=True,
            top_logprobs=3,
            max_tokens=4,
        )
    content = r.choices[0].message.content or ""
    tokens = r.choices[0].logprobs.content  # type: ignore[union-attr]
    assert "".join(t.token for t in tokens) == content
    assert len(tokens) == 4
    assert r.usage is not None
    assert r.usage.completion_tokens == 4
    assert r.usage.total_tokens == r.usage.prompt_tokens + 4
    for t in tokens:
        assert len(t.top_logprobs) == 3
        assert t.logprob <= 0
        # greedy decoding: the chosen token is the best alternative
        assert t.logprob == pytest.approx(t.top_logprobs[0].logprob)


def test_echo_scores_a_given_continuation_and_context_raises_its_probability() -> None:
    fake = OpenAICompatFake()
    answer = " The capital of France is Paris."
    with fake.receiver:
        client = _client(fake)

        def loglik(context: str) -> float:
            r = client.completions.create(
                model="tiny", prompt=context + answer, echo=True, max_tokens=0, logprobs=1
            )
            lp = r.choices[0].logprobs
            assert lp is not None
            assert lp.token_logprobs is not None
            assert lp.tokens is not None
            assert lp.text_offset is not None
            assert lp.token_logprobs[0] is None
            assert "".join(lp.tokens) == context + answer
            start = len(context)
            return sum(
                v
                for v, off in zip(lp.token_logprobs, lp.text_offset, strict=True)
                if off >= start and v is not None
            )

        with_chunk = loglik("Context: Paris is the capital of France.\nQ: capital?")
        without = loglik("Context: Berlin has many museums.\nQ: capital?")
    assert with_chunk > without + 5


def test_responder_text_is_returned_and_scored() -> None:
    fake = OpenAICompatFake(responder=lambda msgs: "LABEL: factual")
    with fake.receiver:
        r = _client(fake).chat.completions.create(
            model="judge", messages=[{"role": "user", "content": "judge this"}], logprobs=True
        )
    assert r.choices[0].message.content == "LABEL: factual"
    assert [t.token for t in r.choices[0].logprobs.content] == tokenize("LABEL: factual")  # type: ignore[union-attr]


def test_embeddings_are_unit_vectors_and_similar_texts_are_closer() -> None:
    fake = OpenAICompatFake()
    with fake.receiver:
        r = _client(fake).embeddings.create(
            model="e", input=["red apple pie", "red apple tart", "tax law"]
        )
    a, b, c = (d.embedding for d in r.data)
    assert math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-9)
    dot = lambda u, v: sum(x * y for x, y in zip(u, v, strict=True))  # noqa: E731
    assert dot(a, b) > dot(a, c)


def test_scripted_429_carries_retry_after_and_the_openai_client_retries_it() -> None:
    fake = OpenAICompatFake()
    fake.receiver.script += [rate_limited(0.01), server_error(503)]
    with fake.receiver:
        r = _client(fake, max_retries=2).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=1
        )
    assert [x.status for x in fake.receiver.replies] == [429, 503, 200]
    assert fake.receiver.replies[0].headers["Retry-After"] == "0.01"
    assert r.choices[0].message.content


def test_errors_speak_openais_error_body() -> None:
    fake = OpenAICompatFake(api_key="sk-right")
    with fake.receiver:
        no_key = httpx.post(fake.url + "/chat/completions", json={"model": "m", "messages": []})
        with pytest.raises(openai.BadRequestError):
            _client(
                fake, default_headers={"Authorization": "Bearer sk-right"}
            ).chat.completions.create(model="m", messages=[])
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "invalid_request_error"


def test_latency_is_applied_and_concurrency_is_observed() -> None:
    fake = OpenAICompatFake(latency_s=0.2)
    with fake.receiver, httpx.Client() as http:
        import concurrent.futures as cf

        body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1}
        with cf.ThreadPoolExecutor(4) as pool:
            codes = list(
                pool.map(
                    lambda _: http.post(fake.url + "/chat/completions", json=body).status_code,
                    range(4),
                )
            )
    assert codes == [200] * 4
    assert fake.max_in_flight >= 2
