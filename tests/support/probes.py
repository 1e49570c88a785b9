"""Test-only web views that show a worker's live internals, for the workaround tests.

The Faust workarounds (``app.kafka_driver``, ``app.offsets``) change how Faust's own
consumer behaves, which no A2A call shows directly. These views read the live objects
of a running worker process, so a test fails when a workaround stops taking effect
(a Faust or aiokafka upgrade that renames what it patches):

* ``GET /probe/consumer``: ``{"fetch_max_wait_ms", "on_worker_loop", "loop", "threads",
  "fetching"}``: the fetch wait of the worker's running ``AIOKafkaConsumer`` (its
  fetcher's value, what fetch requests carry), whether that consumer runs on the
  worker's event loop, the module of that loop's class (``uvloop`` or
  ``asyncio.unix_events``, ``app.event_loop``), the class names of the process's live
  threads (mode runs a service thread, such as Faust's consumer thread, in a
  ``WorkerThread``), and how many of each topic's assigned partitions that consumer
  fetches (not paused in aiokafka);
* ``GET /probe/reseek/{topic}/{partition}/{offset}``: moves the partition's position
  to ``offset`` (as a fetch Faust then drops would), runs Faust's own
  ``Consumer.perform_seek`` (what it runs after every rebalance) and answers
  ``{"before", "after"}`` positions;
* ``GET /probe/resume-flow``: resumes Faust's flow control as its ``Recovery`` does
  (twice, around its seek, after each rebalance), which clears the streams' buffers,
  and answers ``{"cleared"}``: how many buffered records were dropped;
* ``GET /probe/asyncio-tasks/{text}``: ``{"count"}`` of the process's asyncio tasks
  whose name contains ``text`` (a task id: what a2a-sdk keeps running for a task);
* ``GET /probe/heap``: ``{"frozen"}``, how many objects CPython's collector holds in
  its permanent generation (``app.heap``);
* ``GET /probe/answer-order``: ``{"events"}``, what happened since the previous call of
  this view, in order: ``"changelog"`` when a produce request carrying a changelog
  record is written to the broker's socket, ``"encode"`` when the binding encodes an
  answer (``app.handler.PRODUCER_STEPS``). The first call starts recording.

Internals read here: Faust's ``Consumer._thread._ensure_consumer()`` (the aiokafka
consumer), aiokafka's ``AIOKafkaConsumer._fetcher._fetch_max_wait_ms``,
``AIOKafkaConsumer._client._loop``, ``AIOKafkaConnection.send`` and
``ProduceRequest._topics``, and mode's ``FlowControlEvent._queues``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from collections import Counter
from typing import Any

from aiokafka.conn import AIOKafkaConnection
from faust.types import TP
from faust.web import Request, Response, View

from app import kafka_handler
from app.worker import A2AWorker


def _json(view: View, body: Any) -> Response:
    return view.text(json.dumps(body), content_type="application/json")


def register_probes(worker: A2AWorker) -> None:
    """Adds the ``/probe/...`` views to ``worker``'s app."""
    app = worker.app

    @app.page("/probe/consumer")
    async def consumer_view(view: View, request: Request) -> Response:
        consumer: Any = app.consumer
        aiokafka_consumer = consumer._thread._ensure_consumer()
        return _json(
            view,
            {
                "fetch_max_wait_ms": aiokafka_consumer._fetcher._fetch_max_wait_ms,
                "on_worker_loop": aiokafka_consumer._client._loop is asyncio.get_running_loop(),
                "loop": type(asyncio.get_running_loop()).__module__,
                "threads": sorted(type(thread).__name__ for thread in threading.enumerate()),
                "fetching": dict(
                    Counter(
                        tp.topic
                        for tp in aiokafka_consumer.assignment() - aiokafka_consumer.paused()
                    )
                ),
            },
        )

    @app.page("/probe/reseek/{topic}/{partition}/{offset}")
    async def reseek_view(
        view: View, request: Request, topic: str, partition: str, offset: str
    ) -> Response:
        consumer: Any = app.consumer
        tp = TP(topic, int(partition))
        await consumer.seek_wait({tp: int(offset)})
        before = await consumer.position(tp)
        await consumer.perform_seek()
        after = await consumer.position(tp)
        return _json(view, {"before": before, "after": after})

    @app.page("/probe/resume-flow")
    async def resume_flow_view(view: View, request: Request) -> Response:
        cleared = sum(queue.qsize() for queue in app.flow_control._queues)
        app.flow_control.resume()
        return _json(view, {"cleared": cleared})

    @app.page("/probe/asyncio-tasks/{text}")
    async def tasks_view(view: View, request: Request, text: str) -> Response:
        count = sum(1 for task in asyncio.all_tasks() if text in task.get_name())
        return _json(view, {"count": count})

    @app.page("/probe/heap")
    async def heap_view(view: View, request: Request) -> Response:
        return _json(view, {"frozen": gc.get_freeze_count()})

    events: list[str] | None = None

    @app.page("/probe/answer-order")
    async def answer_order_view(view: View, request: Request) -> Response:
        nonlocal events
        if events is None:
            events = []
            _record_answer_order(events)
        seen, events[:] = list(events), []
        return _json(view, {"events": seen})


def _record_answer_order(events: list[str]) -> None:
    """Appends ``"changelog"`` to ``events`` when a produce request with a changelog
    record is written, ``"encode"`` when the binding encodes an answer."""
    send = AIOKafkaConnection.send

    def recording_send(self: AIOKafkaConnection, request: Any, *args: Any, **kwargs: Any) -> Any:
        topics = getattr(request, "_topics", None) or ()
        if any(topic.endswith("-changelog") for topic, _ in topics):
            events.append("changelog")
        return send(self, request, *args, **kwargs)

    encode = kafka_handler.message_to_dict

    def recording_encode(message: Any) -> Any:
        events.append("encode")
        return encode(message)

    AIOKafkaConnection.send = recording_send  # type: ignore[method-assign]
    kafka_handler.message_to_dict = recording_encode  # type: ignore[assignment]
