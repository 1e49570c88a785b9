"""A worker that runs a2a-sdk ``TaskStore`` calls on ``FaustTaskStore`` from records.

Each record on ``<prefix>store-ops`` is one call (JSON: ``op``, ``ref`` and its
arguments), executed while that record is handled — in its partition, as the
A2A handler would — and answered on ``<prefix>store-results`` keyed by ``ref``.
The tables are the service's own (RocksDB, changelogged), with
``FAUST_A2A_PARTITIONS`` partitions.
"""

import json
import os

from a2a.server.context import ServerCallContext
from a2a.types import ListTasksRequest, Task
from faust.types import StreamT
from google.protobuf.json_format import MessageToDict, ParseDict

from app.service import create_worker
from tables import FaustTaskStore

PREFIX = os.environ["TEST_AGENT_PREFIX"]
worker = create_worker({})
app = worker.app
store = FaustTaskStore(worker.tasks_table, "probe", partitions=worker.settings.partitions)
ops = app.topic(
    f"{PREFIX}store-ops",
    key_serializer="raw",
    value_serializer="raw",
    partitions=worker.settings.partitions,
    internal=True,
)
results = app.topic(f"{PREFIX}store-results", key_serializer="raw", value_serializer="raw")


async def call(op: dict) -> object:
    """Runs one store call; returns its JSON-able result."""
    context = ServerCallContext()
    if op["op"] == "save":
        await store.save(ParseDict(op["task"], Task()), context)
        return None
    if op["op"] == "get":
        task = await store.get(op["id"], context)
        return None if task is None else MessageToDict(task)
    if op["op"] == "delete":
        await store.delete(op["id"], context)
        return None
    if op["op"] == "list":
        return MessageToDict(await store.list(ParseDict(op["params"], ListTasksRequest()), context))
    if op["op"] == "block_cache_size":  # what Faust's RocksDB store opens databases with
        return worker.tasks_table.data.rocksdb_options.block_cache_size
    raise ValueError(op["op"])


@app.agent(ops, name="store-probe")
async def probe(stream: StreamT) -> None:
    """Answers every store call with ``{"partition", "result"}`` or ``{"error"}``."""
    async for event in stream.events():
        op = json.loads(event.value)
        try:
            answer = {"partition": event.message.partition, "result": await call(op)}
        except Exception as exc:
            answer = {"partition": event.message.partition, "error": f"{type(exc).__name__}: {exc}"}
        await results.send(key=op["ref"].encode(), value=json.dumps(answer).encode())
