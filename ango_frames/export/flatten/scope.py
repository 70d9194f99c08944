"""Where the rows of one task's entries go, and how the ids they lack are made up.

One :class:`Scope` per task (and per stage-history snapshot) is handed to the object,
classification and relation walkers instead of the same eight arguments each.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["Scope"]


class Scope:
    """The rows of one task's ``tools`` / ``objects``, ``classifications`` and ``relations``.

    ``lead`` is what every row starts with: ``(task_id,)``, or ``(task_id, history_order)`` for
    the ``history_*`` tables. ``counter[0]`` numbers the classifications of the task depth first;
    ``counter[1]`` counts the ids made up, of every kind.
    """

    __slots__ = ("classifications", "counter", "lead", "objects", "prefix", "relations", "unknown")

    def __init__(
        self,
        lead: tuple,
        prefix: str,
        sinks: tuple[Any, Any, Any],
        unknown: Counter,
    ) -> None:
        self.lead = lead
        self.prefix = prefix
        self.objects, self.classifications, self.relations = sinks
        self.unknown = unknown
        self.counter = [0, 0]

    def made_id(self, letter: str, n: int) -> str:
        """``<prefix>/<letter><n>``: the id of the n-th entry of its kind that has none."""
        self.counter[1] += 1
        return f"{self.prefix}/{letter}{n}"
