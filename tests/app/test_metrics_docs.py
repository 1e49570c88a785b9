"""The README's metric table and the Grafana dashboard name only metrics the worker has."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from prometheus_client import Histogram
from support.processes import ROOT

from app import metrics

NAME = re.compile(r"\bfaust_a2a_[a-z_]+")


def exposed_names() -> set[str]:
    """Every sample name the worker can expose (Faust-read gauges included)."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum"))
    collector = metrics.FaustCollector(cast(Any, object()))
    names.update(family.name for family in collector.collect())
    return names


def test_every_documented_metric_exists_and_every_metric_is_documented() -> None:
    exposed = exposed_names()
    readme = (ROOT / "README.md").read_text()
    table = {m.strip("`") for m in re.findall(r"^\| `(faust_a2a_[a-z_]+)`", readme, re.M)}
    assert table <= exposed, table - exposed
    # the README names counters with _total and histograms by their base name
    families = {
        name
        for name in exposed
        if name.startswith("faust_a2a_")
        and not name.endswith(("_bucket", "_count", "_sum", "_created"))
        and f"{name}_total" not in exposed
    }
    assert families <= table, families - table


def test_the_dashboard_queries_existing_metrics() -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in NAME.findall(target["expr"])
    }
    assert len(dashboard["panels"]) >= 5
    assert queried <= exposed_names(), queried - exposed_names()
    histograms = {m._name for m in vars(metrics).values() if isinstance(m, Histogram)}
    assert {f"{h}_bucket" for h in histograms} <= queried
