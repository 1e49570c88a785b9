"""The gateway when the path to the agent fails: a slow agent meets the deadline (504),
a broker outage answers 503 and the gateway recovers by itself."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import A2AClientError
from a2a.helpers import new_text_message
from a2a.types import AgentCard, AgentInterface, Role, SendMessageRequest
from aiokafka import AIOKafkaProducer
from support.gateway import GatewayProcess
from support.processes import ROOT, WorkerProcess, free_port
from support.records import RawPeer

from app import binding
from app.registry import encode_card

pytestmark = pytest.mark.kafka

HEADERS = {"A2A-Version": "1.0"}


def _rpc(method: str, text: str) -> dict[str, Any]:
    message = {"role": "ROLE_USER", "messageId": uuid.uuid4().hex, "parts": [{"text": text}]}
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": {"message": message}}


@pytest.fixture(scope="module")
def slow_gateway(
    worker: WorkerProcess, bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway serving only ``slow``, at the root, with a 2 s deadline."""
    log = tmp_path_factory.mktemp("gw-slow") / "gateway.log"
    process = GatewayProcess(bootstrap_servers, log, "--agent", "slow", "--timeout", "2")
    process.start(wait_for="")
    yield process
    process.stop()


async def test_one_agent_at_the_root(slow_gateway: GatewayProcess) -> None:
    card = await slow_gateway.card()
    assert card.name == "slow"
    assert [i.url for i in card.supported_interfaces[:2]] == [slow_gateway.url] * 2
    async with httpx.AsyncClient(timeout=10) as http:
        other = await http.get(f"{slow_gateway.url}/data/.well-known/agent-card.json")
    assert other.status_code == 404


async def test_slow_agent_times_out_at_the_deadline(slow_gateway: GatewayProcess) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        started = time.monotonic()
        rpc = await http.post(slow_gateway.url, json=_rpc("SendMessage", "25"), headers=HEADERS)
        rpc_seconds = time.monotonic() - started
        started = time.monotonic()
        rest = await http.post(
            f"{slow_gateway.url}/message:send",
            json=_rpc("SendMessage", "25")["params"],
            headers=HEADERS,
        )
        rest_seconds = time.monotonic() - started
        started = time.monotonic()
        async with http.stream(
            "POST", slow_gateway.url, json=_rpc("SendStreamingMessage", "25"), headers=HEADERS
        ) as stream:
            lines = [line async for line in stream.aiter_lines() if line]
        stream_seconds = time.monotonic() - started
    assert rpc.status_code == 504
    assert rpc.json()["error"]["code"] == -32603
    assert "Deadline exceeded" in rpc.json()["error"]["message"]
    assert rest.status_code == 504
    assert rest.json()["error"]["status"] == "DEADLINE_EXCEEDED"
    assert "Deadline exceeded" in rest.json()["error"]["message"]
    # The stream passes events on until the deadline, then ends with an error event.
    assert lines[0].startswith("data:")
    assert "event: error" in lines
    assert "Deadline exceeded" in lines[-1]
    for seconds in (rpc_seconds, rest_seconds, stream_seconds):
        assert 2.0 <= seconds < 12.0


async def test_a2a_sdk_client_gets_an_error_at_the_deadline(
    slow_gateway: GatewayProcess,
) -> None:
    client = await slow_gateway.client("", "JSONRPC", streaming=False)
    request = SendMessageRequest(message=new_text_message("25", role=Role.ROLE_USER))
    started = time.monotonic()
    try:
        with pytest.raises(A2AClientError, match="504"):
            async for _ in client.send_message(request):
                pass
    finally:
        await client.close()
    assert time.monotonic() - started < 12.0


# ------------------------------------------------------------ broker outage


class Broker:
    """A broker of its own for this test, started and stopped by ``scripts/kafka``."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_DATA_DIR": str(data_dir),
            "KAFKA_START_TIMEOUT": "120",
            # An outage need not be graceful: SIGKILL after 3 s saves a slow shutdown.
            "KAFKA_STOP_TIMEOUT": "3",
        }

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self, command: str) -> None:
        result = subprocess.run(
            [shutil.which("bash") or "/bin/bash", str(ROOT / "scripts" / "kafka"), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr


async def _send(http: httpx.AsyncClient, url: str, message_id: str) -> httpx.Response:
    body = _rpc("SendMessage", "Terran win rate")
    body["params"]["message"]["messageId"] = message_id
    return await http.post(url, json=body, headers=HEADERS)


async def _publish_card(bootstrap_servers: str, name: str) -> None:
    card = AgentCard(
        name=name,
        supported_interfaces=[
            AgentInterface(
                url=binding.KafkaAddress(bootstrap_servers, name).url,
                protocol_binding=binding.KAFKA_PROTOCOL_BINDING,
                protocol_version="1.0",
            )
        ],
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(binding.REGISTRY_TOPIC, encode_card(card), key=name.encode())
    finally:
        await producer.stop()


async def test_broker_outage_gives_503_and_the_gateway_recovers(tmp_path: Path) -> None:
    """No worker runs here: each request reaching the agent's requests topic, then
    meeting the 3 s deadline (504), shows the gateway's path to Kafka works."""
    broker = Broker(tmp_path / "kafka")
    broker.run("start")
    gateway = GatewayProcess(broker.bootstrap_servers, tmp_path / "gateway.log", "--timeout", "3")
    url = f"{gateway.url}/ghost"
    try:
        await _publish_card(broker.bootstrap_servers, "ghost")
        gateway.start(wait_for="ghost")
        peer = await RawPeer(broker.bootstrap_servers, binding.requests_topic("ghost")).start()
        async with httpx.AsyncClient(timeout=60) as http:
            before = await _send(http, url, "before")
            assert before.status_code == 504
            await peer.wait_for(lambda r: b'"before"' in (r.value or b""))
            await peer.stop()

            broker.run("stop")
            started = time.monotonic()
            down = await _send(http, url, "down")
            down_seconds = time.monotonic() - started
            rest = await http.post(
                f"{url}/message:send", json=_rpc("SendMessage", "Zerg")["params"], headers=HEADERS
            )
            assert down.status_code == 503
            assert down.headers["retry-after"] == "1"
            assert "Kafka broker" in down.json()["error"]["message"]
            assert "unreachable" in down.json()["error"]["message"]
            assert down_seconds < 5.0
            assert rest.status_code == 503
            assert rest.json()["error"]["status"] == "UNAVAILABLE"

            broker.run("start")
            peer = await RawPeer(broker.bootstrap_servers, binding.requests_topic("ghost")).start()
            after = await _until_not_503(http, url, timeout=90.0)
            assert after.status_code == 504
            await peer.wait_for(lambda r: b'"after' in (r.value or b""))
            await peer.stop()
        assert gateway.process is not None and gateway.process.poll() is None
    finally:
        gateway.stop()
        broker.run("stop")


async def test_gateway_started_without_a_broker_answers_503(tmp_path: Path) -> None:
    gateway = GatewayProcess(f"127.0.0.1:{free_port()}", tmp_path / "gateway.log")
    try:
        gateway.start(wait_for=None)
        async with httpx.AsyncClient(timeout=10) as http:
            card = await http.get(f"{gateway.url}/data/.well-known/agent-card.json")
            rpc = await http.post(f"{gateway.url}/data", json=_rpc("SendMessage", "hi"))
    finally:
        gateway.stop()
    assert [card.status_code, rpc.status_code] == [503, 503]
    assert "unreachable" in rpc.json()["error"]["message"]


async def _until_not_503(http: httpx.AsyncClient, url: str, timeout: float) -> httpx.Response:
    """The first answer from ``url`` that is not 503, within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    attempt = 0
    while loop.time() < deadline:
        attempt += 1
        response = await _send(http, url, f"after-{attempt}")
        if response.status_code != 503:
            return response
        await asyncio.sleep(1.0)
    raise AssertionError(f"the gateway still answers 503 after {timeout}s")
