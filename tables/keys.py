"""Table keys: every table is shared by the hosted agents, so keys are agent-scoped."""


def scoped(agent: str, key: str) -> str:
    """The table key of ``key`` (a task, context or message id) for ``agent``: ``agent/key``."""
    return f"{agent}/{key}"
