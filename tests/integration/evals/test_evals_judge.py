"""The judge client and the evaluators against the fake OpenAI-compatible server, over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from judges import fixed, grounding_judge, relevance_judge

from fakes.openai_compat import OpenAICompatFake, rate_limited, server_error
from llmpulse.clock import ManualClock
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.eval_rules import EvaluatorSpec
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.evals.evaluators import Skipped, build_evaluator
from llmpulse.evals.judge import CostCapReached, JudgeClient, JudgeConfig, JudgeFailed
from llmpulse.evals.material import Material
from llmpulse.evals.settings import pricer
from llmpulse.ingest.pricing import PriceBook, shipped_price_table
from support.aio import run

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PRICES = pricer(PriceBook([shipped_price_table()]), T0)
P, S = ProjectName("p"), SpanId("s1")
CONTEXT = ("The Eiffel Tower is in Paris and was completed in 1889.",)
GROUNDED = Material("Where is the Eiffel Tower?", "The Eiffel Tower is in Paris.", CONTEXT, "")
UNGROUNDED = Material(
    "Where is the Eiffel Tower?", "It stands in Rome near the Colosseum.", CONTEXT, ""
)


@pytest.fixture
def fake() -> Iterator[OpenAICompatFake]:
    f = OpenAICompatFake(responder=grounding_judge)
    with f.receiver:
        yield f


def _client(fake: OpenAICompatFake, **kw: object) -> JudgeClient:
    cfg = {"base_url": fake.url, "model": "gpt-4o-mini", "api_key": "sk-x", "backoff_s": 0.01, **kw}
    return JudgeClient(JudgeConfig(**cfg), ManualClock(T0), PRICES)  # type: ignore[arg-type]


async def _judge(fake: OpenAICompatFake, m: Material, kind: str = "hallucination", **kw: object):  # type: ignore[no-untyped-def]
    client = _client(fake, **kw)
    try:
        return await build_evaluator(EvaluatorSpec(kind=kind), client).evaluate(P, S, m)  # type: ignore[arg-type]
    finally:
        await client.aclose()


def test_hallucination_verdicts_with_reason_model_and_cost(fake: OpenAICompatFake) -> None:
    good = run(_judge(fake, GROUNDED))
    bad = run(_judge(fake, UNGROUNDED))
    assert (good[0].label, good[0].score) == ("factual", 1.0)
    assert (bad[0].label, bad[0].score) == ("hallucinated", 0.0)
    assert "of the answer's words" in (good[0].explanation or "")
    meta = good[0].metadata
    assert meta["judge_model"] == "gpt-4o-mini"
    # cost from the shipped table: gpt-4o-mini input 1.5e-7, output 6e-7 per token
    expected = Decimal(str(meta["prompt_tokens"])) * Decimal("1.5e-7") + Decimal(
        str(meta["completion_tokens"])
    ) * Decimal("6.0e-7")
    assert meta["cost_usd"] == pytest.approx(float(expected))
    assert good[0].annotator_kind == "LLM"
    sent = fake.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-x"


@pytest.mark.parametrize(
    ("reply", "label", "error"),
    [
        ("EXPLANATION: supported.\nLABEL: factual", "factual", None),
        ("LABEL: **Hallucinated**.\nEXPLANATION: Rome is not in the text.", "hallucinated", None),
        ('{"label": "factual", "explanation": "ok"}', "factual", None),
        ('```json\n{"label": "hallucinated", "explanation": "no"}\n```', "hallucinated", None),
        ("EXPLANATION: unsure.\nLABEL: partially factual", None, "is not one of the rails"),
        ("LABEL: maybe", None, "is not one of the rails"),
        ("I think it is factual.", None, "no LABEL"),
        ("", None, "empty reply"),
        ('{"explanation": "forgot the label"}', None, "no LABEL"),
    ],
)
def test_every_rail_parses_and_malformed_replies_are_error_verdicts(
    reply: str, label: str | None, error: str | None
) -> None:
    f = OpenAICompatFake(responder=fixed(reply))
    with f.receiver:
        (ev,) = run(_judge(f, GROUNDED))
    assert ev.label == label
    if error is None:
        assert ev.score is not None
        assert "error" not in ev.metadata
    else:
        assert ev.score is None
        assert error in str(ev.metadata["error"])


def test_custom_template_rails_and_scores() -> None:
    spec = EvaluatorSpec(
        kind="custom", name="tone", prompt="Rate the tone of: {output}",
        rails=("Polite", "Neutral", "Rude"), scores={"polite": 1, "neutral": 0.5, "rude": 0},
    )  # fmt: skip
    for reply, label, score in [("LABEL: neutral", "neutral", 0.5), ("LABEL: angry", None, None)]:
        f = OpenAICompatFake(responder=fixed(reply))
        with f.receiver:
            client = _client(f)
            (ev,) = run(build_evaluator(spec, client).evaluate(P, S, GROUNDED))
            run(client.aclose())
        assert (ev.name, ev.label, ev.score) == ("tone", label, score)
        assert "Rate the tone of: The Eiffel Tower is in Paris." in f.requests[0].body.decode()


def test_custom_template_errors_name_the_field() -> None:
    spec = EvaluatorSpec(
        kind="custom", prompt="{question} {output}", rails=("a", "b"), scores={"c": 1}
    )
    with pytest.raises(InvalidInput) as err:
        build_evaluator(spec)
    fields = {e.path for e in err.value.errors}
    assert fields == {"prompt", "scores.c"}


def test_qa_correctness_needs_a_reference_and_judges_against_it() -> None:
    f = OpenAICompatFake(responder=fixed("EXPLANATION: matches.\nLABEL: correct"))
    with f.receiver:
        with pytest.raises(Skipped):
            run(_judge(f, GROUNDED, kind="qa_correctness"))
        m = Material(GROUNDED.input, GROUNDED.output, (), "Paris")
        (ev,) = run(_judge(f, m, kind="qa_correctness"))
    assert (ev.name, ev.label, ev.score) == ("qa_correctness", "correct", 1.0)
    assert "[Reference answer]: Paris" in f.requests[-1].body.decode()


def test_relevance_is_judged_per_document() -> None:
    f = OpenAICompatFake(responder=relevance_judge)
    docs = ("The Eiffel Tower stands in Paris.", "Bananas are yellow.", "Tower of Eiffel height.")
    m = Material("Where is the Eiffel Tower?", "In Paris.", docs, "")
    with f.receiver:
        evs = run(_judge(f, m, kind="document_relevance"))
    by_name = {e.name: e for e in evs}
    assert by_name["document_relevance.doc0"].label == "relevant"
    assert by_name["document_relevance.doc1"].label == "unrelated"
    assert by_name["document_relevance.doc2"].label == "relevant"
    assert by_name["document_relevance.doc1"].metadata["document_position"] == 1
    assert by_name["document_relevance"].score == pytest.approx(2 / 3)
    assert len(f.requests) == 3


def test_toxicity() -> None:
    f = OpenAICompatFake(responder=fixed("EXPLANATION: insults.\nLABEL: toxic"))
    with f.receiver:
        (ev,) = run(_judge(f, GROUNDED, kind="toxicity"))
    assert (ev.label, ev.score) == ("toxic", 0.0)


def test_retries_429_and_5xx_honouring_retry_after(fake: OpenAICompatFake) -> None:
    fake.receiver.script += [rate_limited(0.3), server_error(502), server_error(503)]
    client = _client(fake, backoff_s=0.01)

    async def go() -> tuple[float, object]:
        loop = asyncio.get_running_loop()
        t = loop.time()
        reply = await client.chat([{"role": "user", "content": "[Reference text]: a [Answer]: a"}])
        await client.aclose()
        return loop.time() - t, reply

    took, reply = run(go())
    assert [r.status for r in fake.receiver.replies] == [429, 502, 503, 200]
    assert took >= 0.3  # waited as long as Retry-After asked
    assert reply.attempts == 4  # type: ignore[attr-defined]
    assert client.retries == 3


def test_gives_up_after_max_retries_as_an_error_verdict(fake: OpenAICompatFake) -> None:
    fake.receiver.script += [server_error(500)] * 3
    (ev,) = run(_judge(fake, GROUNDED, max_retries=2))
    assert ev.label is None
    assert "gave up after 3 attempts" in str(ev.metadata["error"])


def test_a_400_is_not_retried() -> None:
    f = OpenAICompatFake(api_key="sk-other")
    with f.receiver:
        client = _client(f)
        with pytest.raises(JudgeFailed, match="HTTP 401"):
            run(client.chat([{"role": "user", "content": "x"}]))
        run(client.aclose())
    assert len(f.requests) == 1


def test_concurrency_limit_holds(fake: OpenAICompatFake) -> None:
    fake.latency_s = 0.1
    client = _client(fake, concurrency=3)

    async def go() -> None:
        await asyncio.gather(
            *(client.chat([{"role": "user", "content": f"q{i}"}]) for i in range(12))
        )
        await client.aclose()

    run(go())
    assert fake.max_in_flight == 3


def test_rate_limit_spaces_request_starts(fake: OpenAICompatFake) -> None:
    client = _client(fake, concurrency=8, requests_per_s=20.0)

    async def go() -> float:
        loop = asyncio.get_running_loop()
        t = loop.time()
        await asyncio.gather(*(client.chat([{"role": "user", "content": "x"}]) for _ in range(10)))
        await client.aclose()
        return loop.time() - t

    assert run(go()) >= 9 / 20.0


def test_cost_cap_stops_before_passing_the_cap(fake: OpenAICompatFake) -> None:
    cap = 0.0005
    client = _client(fake, max_cost_usd=cap, max_tokens=64)
    msg = [{"role": "user", "content": "[Reference text]: " + "word " * 200 + "[Answer]: word"}]

    async def go() -> int:
        done = 0
        try:
            while True:
                await client.chat(msg)
                done += 1
        except CostCapReached:
            return done
        finally:
            await client.aclose()

    done = run(go())
    assert done > 0
    assert 0 < float(client.spent_usd) <= cap
    assert len(fake.requests) == done  # the refused call was never sent


def test_a_cost_cap_on_an_unpriced_model_is_refused() -> None:
    fake = OpenAICompatFake()
    with fake.receiver, pytest.raises(InvalidInput, match="has no price"):
        _client(fake, model="my-local-llama", max_cost_usd=1.0)


def test_judge_without_endpoint_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="LLMPULSE_JUDGE_BASE_URL"):
        build_evaluator(EvaluatorSpec(kind="hallucination"))
