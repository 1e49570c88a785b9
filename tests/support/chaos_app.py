"""The app the fault-injection tests run: the ``echo`` test agent, renamed
``<prefix>echo`` (``TEST_AGENT_PREFIX``) so its topics belong to one test alone.

Run as ``faust -A support.chaos_app worker`` from ``tests/``.
"""

import dataclasses
import os

from app.service import create_worker
from support.echo_agent import SPEC

NAME = f"{os.environ['TEST_AGENT_PREFIX']}{SPEC.name}"
worker = create_worker({NAME: dataclasses.replace(SPEC, name=NAME)})
app = worker.app
