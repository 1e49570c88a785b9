"""The worker's root logger after startup at Faust's default level (WARN): ``app.spinner``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import faust
import pytest

from app import spinner


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, with its level and handlers put back after the test."""
    logger = logging.getLogger()
    level, handlers = logger.level, list(logger.handlers)
    logger.addHandler(logging.NullHandler())  # Faust's set-up levels handlers[0]
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def _worker(cls: type[faust.Worker], loglevel: str) -> faust.Worker:
    return cls(faust.App("spinner-test", autodiscover=False), loglevel=loglevel)


async def test_faust_leaves_the_root_logger_at_debug_after_startup(
    root: logging.Logger,
) -> None:
    """The upstream behaviour the workaround exists for: should this fail, Faust
    stopped leaving DEBUG behind and ``app.spinner`` can go."""
    worker = _worker(faust.Worker, "warn")
    worker.on_setup_root_logger(root, logging.WARNING)
    await worker.on_startup_finished()

    assert root.level == logging.DEBUG
    assert root.isEnabledFor(logging.DEBUG)


async def test_the_root_logger_gets_its_level_back_once_the_worker_started(
    root: logging.Logger,
) -> None:
    handlers = list(root.handlers)
    worker = _worker(spinner.Worker, "warn")
    worker.on_setup_root_logger(root, logging.WARNING)
    assert root.level == logging.DEBUG  # the spinner spins while the worker starts
    assert len(root.handlers) == len(handlers) + 1

    await worker.on_startup_finished()

    assert root.level == logging.WARNING
    assert not logging.getLogger("aiokafka.conn").isEnabledFor(logging.DEBUG)
    assert root.handlers == handlers


async def test_at_info_there_is_no_spinner_and_the_level_stays(root: logging.Logger) -> None:
    handlers = list(root.handlers)
    worker = _worker(spinner.Worker, "info")
    worker.on_setup_root_logger(root, logging.INFO)
    root.setLevel(logging.INFO)  # what mode's logging set-up does before the signal
    await worker.on_startup_finished()

    assert root.level == logging.INFO
    assert root.handlers == handlers
