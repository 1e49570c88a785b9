"""The Faust app of the benchmark: one worker hosting only the ``bench`` agent.

Run as ``faust -A bench.worker_app worker`` from the repository root. Besides the
``/health`` view (with the others of :mod:`app.views`), the worker answers
``/bench/profile/start`` and ``/bench/profile/stop`` (:mod:`bench.profile`), which
save a pyinstrument session to ``$BENCH_PROFILE_PATH`` (default
``bench-profile.pyisession`` in the working directory).
"""

import os
from pathlib import Path

from app.settings import Settings
from app.views import register_views
from app.worker import A2AWorker
from bench.agent import SPEC
from bench.profile import register_profile_views

worker = A2AWorker({SPEC.name: SPEC}, Settings.from_env())
register_views(worker)
register_profile_views(
    worker.app, Path(os.environ.get("BENCH_PROFILE_PATH", "bench-profile.pyisession"))
)
app = worker.app
