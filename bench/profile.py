"""Profiling the worker under load with pyinstrument.

Worker side, :func:`register_profile_views` adds two web views to the Faust app:
``GET /bench/profile/start`` starts a pyinstrument profiler on the event loop's
thread (``async_mode="disabled"``: every task on the loop is sampled, and time the
loop spends waiting in ``epoll`` shows as such) and ``GET /bench/profile/stop``
stops it and saves the session, answering once the file is written. Only that
thread is sampled: faust-streaming runs its aiokafka consumer (fetching, decoding
records) in a thread of its own, whose CPU the benchmark's per-task figures count
but the profile does not show.

Benchmark side, :func:`profile_stats` ranks functions and packages by self time —
time sampled in the function itself, not in what it calls — and
:func:`write_renderings` writes the call tree as text and HTML next to the session.
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


#: The event loop waiting for I/O (``select.epoll.poll``): idle, not work.
IDLE_FUNCTION = "epoll.poll"


@dataclass(frozen=True)
class SelfTime:
    """Self time of one function or one package.

    Attributes:
        name: The function's name (and ``file:line``, the file relative to
            ``sys.path``), or the package's.
        seconds: Self time, summed over every place it was sampled.
        share: ``seconds`` over the profile's busy (non-idle) time.
    """

    name: str
    seconds: float
    share: float


@dataclass(frozen=True)
class ProfileStats:
    """What a session says about where the worker's time went.

    Attributes:
        sampled: Seconds sampled.
        idle: Of which the event loop waited for I/O (:data:`IDLE_FUNCTION`).
        functions: Functions by self time, idle excluded, most first.
        packages: Self time by top-level package (time in C functions and frozen
            modules counts for the package that called them), idle excluded.
    """

    sampled: float
    idle: float
    functions: list[SelfTime]
    packages: list[SelfTime]


def _frames(frame: Frame) -> Iterator[Frame]:
    """``frame`` and its descendants, skipping pyinstrument's synthetic frames (whose
    time ``Frame.total_self_time`` already counts in their parent)."""
    yield frame
    for child in frame.children:
        if not child.is_synthetic:
            yield from _frames(child)


def _package(frame: Frame) -> str:
    """The top-level package of ``frame``'s code, or of its nearest caller in a file."""
    node: Frame | None = frame
    while node is not None:
        path = node.file_path_short or ""
        if path and not path.startswith("<"):
            return path.split("/")[0].removesuffix(".py")
        node = node.parent
    return "?"


def _ranked(totals: dict[str, float], busy: float, count: int) -> list[SelfTime]:
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:count]
    return [SelfTime(name, seconds, seconds / busy) for name, seconds in ranked]


def profile_stats(session_path: Path, count: int = 15) -> ProfileStats:
    """The ``count`` functions and packages with the most self time in a session.

    Raises:
        OSError: the session file cannot be read.
        ValueError: the session holds no busy samples.
    """
    root = Session.load(session_path).root_frame(trim_stem=False)
    if root is None:
        raise ValueError(f"no samples in {session_path}")
    idle = 0.0
    functions: dict[str, float] = {}
    packages: dict[str, float] = {}
    for frame in _frames(root):
        seconds = frame.total_self_time
        if frame.function == IDLE_FUNCTION:
            idle += seconds
            continue
        name = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        functions[name] = functions.get(name, 0.0) + seconds
        package = _package(frame)
        packages[package] = packages.get(package, 0.0) + seconds
    busy = root.time - idle
    if busy <= 0:
        raise ValueError(f"no busy samples in {session_path}")
    return ProfileStats(
        root.time, idle, _ranked(functions, busy, count), _ranked(packages, busy, count)
    )


def write_renderings(session_path: Path) -> tuple[Path, Path]:
    """Writes the call tree next to the session as ``.txt`` and ``.html``; returns both."""
    session = Session.load(session_path)
    text_path = session_path.with_suffix(".txt")
    html_path = session_path.with_suffix(".html")
    text_path.write_text(ConsoleRenderer(unicode=True, color=False).render(session))
    html_path.write_text(HTMLRenderer().render(session))
    return text_path, html_path
