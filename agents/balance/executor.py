"""The balance agent: asks ``data`` and ``cs`` in parallel and merges their answers.

Behaviour of :class:`BalanceExecutor`:

* The races are those the question names; a question naming none covers all three
  (no clarifying turn: a balance review of the whole game is a sensible default).
* The task is created and set ``working`` (status message "Asking data and cs about
  ..."), then both peers are asked concurrently through the :class:`PeerCaller`:
  ``data`` for the races' win rate and average game length, ``cs`` for their
  complaints and feedback.
* On success the task gets one ``balance-report`` artifact
  (:func:`~agents.balance.report.build_report`) and is completed.
* If a peer raises, or its answer lacks a figure the verdict needs, the task fails
  with an agent message naming the peer and the error; it never waits on a peer
  beyond the PeerCaller's own timeout.
"""

from __future__ import annotations

import asyncio

from a2a.helpers import new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater

from agents.balance.report import MissingFigureError, build_report
from agents.data.questions import RACES, races_in
from agents.lifecycle import open_task
from agents.spec import PeerCaller

ARTIFACT_NAME = "balance-report"
DATA_AGENT = "data"
CS_AGENT = "cs"


def _listing(races: tuple[str, ...]) -> str:
    """``("Terran", "Zerg", "Protoss")`` -> ``"Terran, Zerg and Protoss"``."""
    return races[0] if len(races) == 1 else f"{', '.join(races[:-1])} and {races[-1]}"


def _describe(error: BaseException) -> str:
    """``"A2AClientTimeoutError: no answer"``, or just the type name if there is no text."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class BalanceExecutor(AgentExecutor):
    """Coordinates the data and cs agents into one balance verdict per race."""

    def __init__(self, peers: PeerCaller) -> None:
        """Builds the coordinator.

        Args:
            peers: Asks the ``data`` and ``cs`` agents a question (see ``agents.spec``).
        """
        self._peers = peers

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Completes with a ``balance-report`` artifact, or fails if a peer fails."""
        updater = await open_task(context, event_queue)
        races = races_in(context.get_user_input()) or RACES
        listing = _listing(races)
        await updater.start_work(
            updater.new_agent_message([new_text_part(f"Asking data and cs about {listing}...")])
        )
        questions = {
            DATA_AGENT: f"{listing} win rate and average game length",
            CS_AGENT: f"Complaints and feedback about {listing}",
        }
        results = await asyncio.gather(
            *(self._peers(agent, text) for agent, text in questions.items()),
            return_exceptions=True,
        )
        failures = [
            f"the {agent} agent failed: {_describe(result)}"
            for agent, result in zip(questions, results, strict=True)
            if isinstance(result, BaseException)
        ]
        if failures:
            await self._fail(updater, listing, "; ".join(failures))
            return
        data_answer, cs_answer = (str(result) for result in results)
        try:
            report = build_report(races, data_answer, cs_answer)
        except MissingFigureError as exc:
            await self._fail(updater, listing, str(exc))
            return
        await updater.add_artifact([new_text_part(report)], name=ARTIFACT_NAME, last_chunk=True)
        await updater.complete()

    @staticmethod
    async def _fail(updater: TaskUpdater, listing: str, reason: str) -> None:
        """Fails the task with the agent message "Balance review of <races> failed: ..."."""
        text = f"Balance review of {listing} failed: {reason}."
        await updater.failed(updater.new_agent_message([new_text_part(text)]))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Marks the task canceled (the framework also cancels the pending peer calls)."""
        await TaskUpdater(event_queue, str(context.task_id), str(context.context_id)).cancel()
