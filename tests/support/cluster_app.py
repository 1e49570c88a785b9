"""An app for multi-worker tests, isolated from the session worker by topic names.

Hosts the ``data`` and ``slow`` agents renamed ``<prefix>data`` and ``<prefix>slow``
(``TEST_AGENT_PREFIX``), so their topics belong to one test alone. ``TEST_SLOW_RECOVERY``
(``fail`` by default, or ``rerun``) is the ``slow`` agent's recovery of orphaned tasks.
"""

import dataclasses
import os

from agents import AGENTS
from app.service import create_worker
from support.slow_agent import SPEC as SLOW

PREFIX = os.environ["TEST_AGENT_PREFIX"]
RECOVERY = "rerun" if os.environ.get("TEST_SLOW_RECOVERY") == "rerun" else "fail"
SPECS = {
    f"{PREFIX}{spec.name}": dataclasses.replace(spec, name=f"{PREFIX}{spec.name}")
    for spec in (AGENTS["data"], dataclasses.replace(SLOW, recovery=RECOVERY))
}
worker = create_worker(SPECS)
app = worker.app
