"""What the hub said about one import request: applied, partly applied, or not at all.

A chunk counts as applied only when its reply says so. Each endpoint says it differently:

=================  ===========================================================================
``import/labels``  ``{"status": "success", "data": {"project": "K / N tasks are labeled."}}``;
                   ``K < N``: some labels found no asset (``0001.jpg`` vs ``img-0001.jpg``)
``attachments``    ``{"status": "success", "data": {"project": {"attachmentsImported": K,
                   "assetsUpdated": M}}}``; ``K < N``: some attachments found no asset
``annotate/{id}``  ``{"status": "success", "data": {"label": {...}}}``
=================  ===========================================================================

Anything else (``status`` other than ``success``, an empty, ``null`` or non-JSON body, a count
that is not about this chunk, a shape we cannot read) is never success. The same reading serves
the single-machine importer and the Dask one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["Outcome", "read_reply"]

_LABELED = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s+tasks?\s+(?:are|is)\s+labell?ed\b", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    """The hub's verdict on one chunk.

    Attributes
    ----------
    applied : bool
        The reply says every item of the chunk was applied.
    matched : int or None
        Items the reply says were applied (``K``); None when it gives no count.
    items : int
        Items in the chunk (``N``).
    reply : str
        The reply's ``data`` (or the whole reply) as JSON text, kept in the results.
    error : str or None
        Why the chunk does not count as applied.
    """

    applied: bool
    matched: int | None
    items: int
    reply: str
    error: str | None = None

    @property
    def unmatched(self) -> bool:
        """Success with a count below the chunk's size: some items found no asset."""
        return self.matched is not None and self.matched < self.items


def _text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


def read_reply(kind: str, answer: Any, items: int) -> Outcome:
    """Read a parsed reply to one chunk of ``items`` items of an import ``kind``.

    ``kind`` is ``labels``, ``attachments`` or ``annotate``.
    """
    if not isinstance(answer, dict):
        return Outcome(False, None, items, _text(answer), f"the hub's reply is not an object: "
                       f"{_text(answer)[:200]}")  # fmt: skip
    data = answer.get("data")
    reply = _text(data if "data" in answer else answer)
    status = answer.get("status")
    if status != "success":
        message = answer.get("message")
        said = f": {str(message)[:200]}" if message else ""
        return Outcome(
            False, None, items, reply, f"the hub answered status {status!r}, not 'success'{said}"
        )
    if kind == "labels":
        text = data.get("project") if isinstance(data, dict) else None
        match = _LABELED.match(text) if isinstance(text, str) else None
        if match is None:
            return Outcome(False, None, items, reply, f"reply not understood: {reply[:200]}")
        matched, total = int(match.group(1)), int(match.group(2))
        if total != items:
            return Outcome(
                False, None, items, reply,
                f"the reply counts {total} label(s) but the request held {items}",
            )  # fmt: skip
    elif kind == "attachments":
        counts = data.get("project") if isinstance(data, dict) else None
        imported = counts.get("attachmentsImported") if isinstance(counts, dict) else None
        if not isinstance(imported, int) or isinstance(imported, bool):
            return Outcome(False, None, items, reply, f"reply not understood: {reply[:200]}")
        matched = imported
    else:
        label = data.get("label") if isinstance(data, dict) else None
        if not isinstance(label, dict):
            return Outcome(False, None, items, reply, f"reply not understood: {reply[:200]}")
        return Outcome(True, items, items, reply)
    if matched < items:
        return Outcome(
            False, matched, items, reply,
            f"{items - matched} of {items} item(s) of this request matched no asset",
        )  # fmt: skip
    return Outcome(True, matched, items, reply)
