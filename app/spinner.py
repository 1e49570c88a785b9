"""Faust's startup spinner, without the DEBUG root logger it leaves behind.

At log level WARN, the level ``faust -A app worker`` runs with unless ``-l`` says
otherwise, faust-streaming 0.15 shows a spinner while the worker starts: it sets the
root logger to DEBUG and adds a handler that advances the spinner for every record
(``faust.Worker.on_setup_root_logger``). Neither is undone once the worker is up, so
from then on every ``logger.debug`` call of aiokafka, Faust and a2a-sdk (several per
request record) builds a ``LogRecord``, walks the stack for its caller, and hands it
to handlers that drop it: 30 records per streamed task at one caller, 7-10 % of the
worker's CPU per task (``docs/upstream.md``).

:class:`Worker` keeps the spinner while the worker starts and, once it has started,
removes the spinner's handler and gives the root logger back the level it was set up
with.
"""

from __future__ import annotations

import logging

import faust


class Worker(faust.Worker):
    """Faust's ``Worker``; once started, the root logger is back at its configured level."""

    _root: logging.Logger | None = None
    _root_level = logging.WARNING
    _spinner_handlers: tuple[logging.Handler, ...] = ()

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """Faust's set-up of the spinner, remembering ``level`` and the handlers it adds."""
        before = set(logger.handlers)
        super().on_setup_root_logger(logger, level)
        self._root, self._root_level = logger, level or logging.WARNING
        self._spinner_handlers = tuple(h for h in logger.handlers if h not in before)

    async def on_startup_finished(self) -> None:
        """Faust's end of startup (the spinner stops), then the spinner's handlers leave
        the root logger and it gets its configured level back."""
        await super().on_startup_finished()
        root = self._root
        if root is None:
            return
        for handler in self._spinner_handlers:
            root.removeHandler(handler)
        self._spinner_handlers = ()
        root.setLevel(self._root_level)
