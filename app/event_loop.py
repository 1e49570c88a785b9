"""The worker's event loop: uvloop, unless Faust's own ``--loop`` option chose one.

A worker spends a fifth of its CPU in asyncio's pure-Python scheduling (``make bench``
profile); uvloop runs the same loop in C. Faust selects an event loop with
``faust -L/--loop`` or ``FAUST_LOOP`` at ``import faust`` (mode's ``mode.loop.use``),
before the app module is imported; this module applies the same public switch with
uvloop as the default, when the app is built, which is still before the worker
command creates its loop. ``faust -L aio`` (or ``FAUST_LOOP=aio``) keeps asyncio's own
loop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import mode.loop

logger = logging.getLogger(__name__)

#: Where Faust records the ``--loop`` choice (``faust/__init__.py`` reads both).
FAUST_LOOP_VARS = ("FAUST_LOOP", "F_LOOP")


def choose_event_loop(environ: Mapping[str, str] = os.environ) -> str:
    """Makes uvloop the event loop of loops created from now on, unless Faust's
    ``--loop``/``FAUST_LOOP`` named one or uvloop is not installed (Windows).

    Returns:
        The loop in effect: Faust's choice (``aio``, ``uvloop``, …), ``uvloop``, or
        ``aio`` without uvloop.
    """
    chosen = next((environ[name] for name in FAUST_LOOP_VARS if environ.get(name)), None)
    if chosen:
        return chosen
    try:
        mode.loop.use("uvloop")
    except ImportError:
        logger.info("uvloop is not installed: the worker runs on asyncio's event loop")
        return "aio"
    return "uvloop"
