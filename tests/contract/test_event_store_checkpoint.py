"""EventStore contract: a checkpoint keeps every span and reads keep working meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Callable

from store_factories import make_rag_span

from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import EventStore, SpanQuery

OpenStore = Callable[[], EventStore]


def test_checkpoint_keeps_spans_across_reopen(open_event_store: OpenStore) -> None:
    store = open_event_store()
    store.append_spans([make_rag_span(i) for i in range(400)])
    store.checkpoint()
    store.append_spans([make_rag_span(i) for i in range(400, 500)])
    store.checkpoint()
    store.close()
    again = open_event_store()
    assert again.stats().num_spans == 500
    again.close()


def test_checkpoint_runs_while_another_thread_reads(open_event_store: OpenStore) -> None:
    store = open_event_store()
    store.append_spans([make_rag_span(i) for i in range(2000)])
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                store.list_spans(SpanQuery(ProjectName("proj-1"), limit=50))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(3):
        store.append_spans([make_rag_span(n) for n in range(2000 + i * 100, 2100 + i * 100)])
        store.checkpoint()
    stop.set()
    reader.join()
    assert not errors
    assert store.stats().num_spans == 2300
    store.close()
