"""Table keys: every table is shared by the hosted agents and their callers' owners.

A key is ``<agent>/<id>`` for the anonymous owner (authentication off, the key layout
of earlier versions) and ``<agent>@<owner>/<id>`` for an authenticated owner, the
owner percent-encoded so it holds no ``/``. Agent names are Kafka topic-name parts
(``[a-zA-Z0-9._-]``), so ``@`` cannot occur in them and the two forms never collide.
The owner is what a2a-sdk's ``OwnerResolver`` returns for the call's
``ServerCallContext`` (A2A 1.0 §13.1: a caller sees only its own tasks). Only the key
changes with the owner; the record's partition still comes from the routing key.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

_OWNER_MARK = "@"


def owner_prefix(agent: str, owner: str = "") -> str:
    """The key prefix of ``owner``'s entries of ``agent``: ``agent/`` or ``agent@owner/``."""
    if not owner:
        return f"{agent}/"
    return f"{agent}{_OWNER_MARK}{quote(owner, safe='')}/"


def scoped(agent: str, key: str, owner: str = "") -> str:
    """The table key of ``key`` (a task, context or message id) for ``agent`` and ``owner``."""
    return owner_prefix(agent, owner) + key


def split(table_key: str | bytes) -> tuple[str, str, str]:
    """``(agent, owner, id)`` of a table key made by :func:`scoped`.

    Raises:
        ValueError: the key has no ``/``.
    """
    text = table_key.decode() if isinstance(table_key, bytes) else table_key
    scope, separator, key = text.partition("/")
    if not separator:
        raise ValueError(f"not a scoped table key: {text!r}")
    agent, _, owner = scope.partition(_OWNER_MARK)
    return agent, unquote(owner), key
