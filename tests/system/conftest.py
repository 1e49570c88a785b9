"""Fixtures for multi-worker system tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from support.cluster import Cluster


@pytest.fixture
async def make_cluster(
    bootstrap_servers: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Cluster]]:
    """``make_cluster(env=None)`` → a :class:`Cluster`, stopped after the test."""
    clusters: list[Cluster] = []

    def _make(env: dict[str, str] | None = None) -> Cluster:
        cluster = Cluster(bootstrap_servers, tmp_path / f"cluster-{len(clusters)}", env)
        cluster.base.mkdir()
        clusters.append(cluster)
        return cluster

    yield _make
    for cluster in clusters:
        await cluster.close()
