"""An app for multi-worker tests, isolated from the session worker by topic names.

Hosts the ``data``, ``slow`` and ``probe`` agents renamed ``<prefix>data`` …
(``TEST_AGENT_PREFIX``), so their topics belong to one test alone, and the
test-only ``/probe`` views. ``TEST_SLOW_RECOVERY`` (``fail`` by default, or ``rerun``) is
the ``slow`` agent's recovery of orphaned tasks.
"""

import dataclasses
import os

from agents import AGENTS
from app.service import create_worker
from support.probe_agent import SPEC as PROBE
from support.probes import register_probes
from support.slow_agent import SPEC as SLOW

PREFIX = os.environ["TEST_AGENT_PREFIX"]
RECOVERY = "rerun" if os.environ.get("TEST_SLOW_RECOVERY") == "rerun" else "fail"
SPECS = {
    f"{PREFIX}{spec.name}": dataclasses.replace(spec, name=f"{PREFIX}{spec.name}")
    for spec in (AGENTS["data"], dataclasses.replace(SLOW, recovery=RECOVERY), PROBE)
}
worker = create_worker(SPECS)
register_probes(worker)
app = worker.app
