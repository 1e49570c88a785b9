"""The Faust floor: the raw echo's request-reply served by a Faust agent with a table.

What a faust-a2a worker pays per request before any A2A work: the same Faust app
(:func:`app.worker.faust_app`: transport, inline consumer, fetch wait, idempotent
producer, uvloop), a Faust agent on a request topic, records handled concurrently
and acked in offset order (:class:`app.acks.OrderedAcks`), one table write per
request (to a RocksDB database opened with the worker's sizes,
``Settings.table_options``) whose changelog record is acknowledged before any reply
is produced (the worker's durability rule, :class:`tables.changelog.Changelogs`),
then the replies, produced without waiting for each. No JSON-RPC, no a2a-sdk, no
protobuf.

It speaks the raw echo's protocol (:mod:`bench.echo`) on topics of its own
(``bench.faust-echo.requests`` and ``.replies``), so :class:`bench.echo.EchoClient`
drives it. Run as ``faust -A bench.faust_echo worker`` with the worker's settings
(``KAFKA_BOOTSTRAP_SERVERS``, ``FAUST_A2A_APP_ID``, ``FAUST_A2A_DATADIR``,
``FAUST_A2A_WEB_PORT``; ``FAUST_A2A_PARTITIONS`` is the benchmark's).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, cast

import faust
from faust.types import EventT, StreamT

from app import binding
from app.acks import OrderedAcks
from app.event_loop import choose_event_loop
from app.offsets import guard_request_offsets
from app.settings import Settings
from app.worker import faust_app, pin_current_event
from bench.agent import PARTITIONS
from bench.echo import FAUST_NAME as NAME
from bench.echo import REPLIES_HEADER, ensure_topics, replies_topic, requests_topic
from tables.changelog import Changelogs, Ownership, TrackedTable

choose_event_loop()
settings = dataclasses.replace(Settings.from_env(), partitions=PARTITIONS)
app = faust_app(settings)
ownership = Ownership()
table = cast(
    TrackedTable,
    app.tables.add(
        TrackedTable(
            app,
            name="echo",
            key_type=bytes,
            value_type=bytes,
            partitions=PARTITIONS,
            options=settings.table_options,
        )
    ),
)
table.ownership = ownership
changelogs = Changelogs([table])
acks = OrderedAcks()
requests = app.topic(
    requests_topic(NAME),
    key_serializer="raw",
    value_serializer="raw",
    partitions=PARTITIONS,
    internal=True,  # Faust creates it with the table's partition count
)
# As in the worker: the acks start where Faust's seek resumed each partition, so the
# records are acked (and their offsets committed) in order from there.
guard_request_offsets(app, {requests_topic(NAME)}, acks.resume_at)


@app.on_partitions_assigned.connect
async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    """Opens the assigned partitions for table writes."""
    assigned = args[0] if args else kwargs["assigned"]
    ownership.assign(tp.partition for tp in assigned)


@app.task
async def create_topics() -> None:
    """Creates the reply topic (and the request topic, if Faust has not yet)."""
    await ensure_topics(settings.bootstrap_servers, NAME)


async def answer(event: EventT) -> None:
    """Writes the request to the table, waits for its changelog record, then replies."""
    pin_current_event(event)
    message = event.message
    headers = cast(list[tuple[str, bytes]], list(message.headers or []))
    correlation_id = binding.header(headers, binding.CORRELATION_ID)
    if correlation_id is not None:
        table[message.key] = message.value
        await changelogs.acknowledged(message.partition)
        count = int(binding.header(headers, REPLIES_HEADER) or 1)
        delivered: Any = None
        for index in range(count):
            reply_headers = [(binding.CORRELATION_ID, correlation_id.encode())]
            if index == count - 1:
                reply_headers.append((binding.FINAL, b"1"))
            delivered = await app.producer.send(
                replies_topic(NAME),
                correlation_id.encode(),
                message.value,
                None,
                None,
                reply_headers,
            )
        await delivered
    acks.done(event)


@app.agent(requests, name="faust-echo")
async def echo(stream: StreamT) -> None:
    """Each record in an asyncio task of its own, acked in offset order."""
    in_flight: set[asyncio.Task[None]] = set()
    async for event in cast(faust.Stream, stream).noack().events():
        acks.taken(event)
        task = asyncio.create_task(answer(event))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
