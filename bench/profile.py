"""Profiling the worker under load with pyinstrument.

Worker side, :func:`register_profile_views` adds two web views to the Faust app:
``GET /bench/profile/start`` starts a pyinstrument profiler on the event loop's
thread (``async_mode="disabled"``: every task on the loop is sampled, and time the
loop spends waiting in ``select`` shows as such) and ``GET /bench/profile/stop``
stops it and saves the session, answering once the file is written.

Benchmark side, :func:`top_self_time` ranks functions by self time — time sampled
in the function itself, not in what it calls — and :func:`write_renderings` writes
the call tree as text and HTML next to the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import faust
from faust.web import Request, Response, View
from pyinstrument import Profiler
from pyinstrument.frame import Frame
from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer
from pyinstrument.session import Session

#: Sampling interval, seconds (pyinstrument's default).
INTERVAL = 0.001


def register_profile_views(app: faust.App, session_path: Path) -> None:
    """Adds ``/bench/profile/start`` and ``/bench/profile/stop``; the latter saves the
    session to ``session_path`` (pyinstrument's ``.pyisession`` JSON)."""
    profiler = Profiler(interval=INTERVAL, async_mode="disabled")

    @app.page("/bench/profile/start")
    async def start_view(view: View, request: Request) -> Response:
        """Starts sampling."""
        profiler.start()
        return view.json({"profiling": True})

    @app.page("/bench/profile/stop")
    async def stop_view(view: View, request: Request) -> Response:
        """Stops sampling and saves the session."""
        session = profiler.stop()
        session.save(session_path)
        return view.json({"profiling": False, "session": str(session_path)})


@dataclass(frozen=True)
class SelfTime:
    """One function's share of the samples.

    Attributes:
        function: The function's name.
        location: ``file:line`` of its definition, the file relative to ``sys.path``.
        seconds: Self time, summed over every place it was called from.
        share: ``seconds`` over the whole profile's sampled time.
    """

    function: str
    location: str
    seconds: float
    share: float


def _frames(frame: Frame) -> Iterator[Frame]:
    """``frame`` and its descendants, skipping pyinstrument's synthetic frames (whose
    time ``Frame.total_self_time`` already counts in their parent)."""
    yield frame
    for child in frame.children:
        if not child.is_synthetic:
            yield from _frames(child)


def top_self_time(session_path: Path, count: int = 15) -> tuple[float, list[SelfTime]]:
    """The sampled seconds and the ``count`` functions with the most self time.

    Raises:
        OSError: the session file cannot be read.
        ValueError: the session holds no samples.
    """
    root = Session.load(session_path).root_frame(trim_stem=False)
    if root is None or root.time <= 0:
        raise ValueError(f"no samples in {session_path}")
    totals: dict[tuple[str, str], float] = {}
    for frame in _frames(root):
        key = (frame.function, f"{frame.file_path_short}:{frame.line_no}")
        totals[key] = totals.get(key, 0.0) + frame.total_self_time
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:count]
    return root.time, [
        SelfTime(function, location, seconds, seconds / root.time)
        for (function, location), seconds in ranked
    ]


def write_renderings(session_path: Path) -> tuple[Path, Path]:
    """Writes the call tree next to the session as ``.txt`` and ``.html``; returns both."""
    session = Session.load(session_path)
    text_path = session_path.with_suffix(".txt")
    html_path = session_path.with_suffix(".html")
    text_path.write_text(ConsoleRenderer(unicode=True, color=False).render(session))
    html_path.write_text(HTMLRenderer().render(session))
    return text_path, html_path
