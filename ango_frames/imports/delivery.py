"""Sending an import's chunks and saying, per item, what the hub did with it.

One status per item (label, attachment, task):

=====================  ======================================================================
``sent``               the hub's reply said the whole chunk was applied (and, with
                       ``verify=True``, the export showed this label with its objects)
``unmatched``          the item found no asset (the reply counted 0 of the chunk, or the
                       verification export has no task with this key)
``unconfirmed``        the reply said only K of the chunk's N items matched an asset; which
                       ones is unknown without ``verify=True``
``incomplete``         verification found the asset but not everything sent (objects missing)
``failed``             the request failed, or its reply was not a success
``not sent``           never sent (an earlier error made every later request pointless)
``skipped (journal)``  acked in an earlier run of the same journal
=====================  ======================================================================

A chunk is acked in the journal only when every item in it is ``sent``. The single-machine
importer runs :func:`send_chunks`; the Dask importer sends on its workers and reads each reply
with the same :func:`settle`, so outcomes mean the same on both.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
import pandas as pd

from ango_frames.errors import AngoError, AuthError, ImportIncomplete
from ango_frames.imports.chunks import Chunk, ChunkPlan, plan_fingerprint, request_key
from ango_frames.imports.journal import Journal
from ango_frames.imports.outcomes import Outcome, read_reply
from ango_frames.imports.spool import Planned, planned

__all__ = [
    "BAD_STATUSES",
    "Rows",
    "post_chunk",
    "raise_if_incomplete",
    "send_chunks",
    "settle",
]

BAD_STATUSES = ("failed", "not sent", "unmatched", "unconfirmed", "incomplete")
COLUMNS = ["key_field", "key", "chunk", "sent", "status", "verified", "reply", "error"]


class Rows:
    """The per-item result columns, filled chunk by chunk."""

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        n = len(keys)
        self.keys = keys
        self.chunk = [-1] * n
        self.status = ["not sent"] * n
        self.sent = [False] * n
        self.verified: list[bool | None] = [None] * n
        self.reply: list[str | None] = [None] * n
        self.error: list[str | None] = [None] * n
        self.run: str | None = None

    def frame(self) -> pd.DataFrame:
        data: dict[str, Any] = {
            "key_field": [k[0] for k in self.keys],
            "key": [k[1] for k in self.keys],
            "chunk": self.chunk,
            "sent": self.sent,
            "status": self.status,
            "verified": pd.array(self.verified, dtype="boolean"),
            "reply": self.reply,
            "error": self.error,
        }
        return pd.DataFrame(data)


Verifier = Callable[[range], list[str | bool | None]]


def settle(rows: Rows, span: range, outcome: Outcome, verify: Verifier | None = None) -> bool:
    """Write the statuses of one answered chunk; True when it may be acked (all ``sent``)."""
    if outcome.matched is None:  # not a success, or a reply we cannot read
        for i in span:
            rows.status[i], rows.error[i], rows.reply[i] = "failed", outcome.error, outcome.reply
        return False
    checks: list[str | bool | None] = [None] * len(span)
    if verify is not None and (outcome.matched or 0) > 0:
        try:
            checks = verify(span)
        except AngoError as exc:
            reason = f"verification failed: {type(exc).__name__}: {exc}"
            for i in span:
                rows.status[i], rows.error[i], rows.reply[i] = "failed", reason, outcome.reply
            return False
    ok = True
    for i, check in zip(span, checks, strict=True):
        rows.reply[i] = outcome.reply
        if check is True:
            rows.verified[i] = True
        elif isinstance(check, str):
            rows.verified[i] = False
        if isinstance(check, str):
            no_task = check.startswith("no task")
            rows.status[i] = "unmatched" if no_task else "incomplete"
            rows.error[i], ok = check, False
        elif outcome.applied:
            rows.status[i], rows.sent[i] = "sent", True
        elif outcome.matched == 0:
            rows.status[i], rows.error[i], ok = "unmatched", outcome.error, False
        elif check is True:
            rows.status[i], rows.sent[i] = "sent", True
        else:
            rows.status[i], ok = "unconfirmed", False
            rows.error[i] = f"{outcome.error}; verify=True names the ones that did not"
    return ok


Checker = Callable[[range, list[Any]], list[str | bool | None]]


def post_chunk(client: Any, chunk: Chunk, key: str | None) -> Any:
    """POST a chunk's planned bytes themselves (hashed = sent, serialised once).

    A client whose ``post`` takes no ``raw=`` (a hand-written stand-in) gets the body parsed
    back from those bytes, which orjson writes out to the same bytes.
    """
    if _takes_raw(client):
        return client.post(chunk.path, None, raw=chunk.raw, params=chunk.params,
                           idempotency_key=key)  # fmt: skip
    return client.post(chunk.path, orjson.loads(chunk.raw), params=chunk.params,
                       idempotency_key=key)  # fmt: skip


def _takes_raw(client: Any) -> bool:
    try:
        return "raw" in inspect.signature(client.post).parameters
    except (TypeError, ValueError):
        return False


def send_chunks(
    client: Any,
    plan: ChunkPlan,
    journal: Any,
    progress: bool,
    verify: Checker | None = None,
) -> Rows:
    """Send every chunk of ``plan`` not acked in ``journal``; per-item results (never raises for
    HTTP).

    Chunks are made one at a time and dropped once their reply is read. Without a journal (and
    without a progress bar) the plan is cut and sent in one pass. With a journal, a first pass
    makes every chunk (its fingerprint must be known before the first request), keeping each
    chunk's bounds and sha256, and its bytes in a spool file when the plan spills
    (:mod:`ango_frames.imports.spool`); the send pass reads each unacked chunk's bytes back, or
    makes it again from its bounds and sends it only if its sha256 is the planned one.
    """
    if journal is None and not progress:
        return _send(client, plan, None, None, False, verify)
    with planned(plan) as made:
        return _send(client, plan, journal, made, progress, verify)


def _send(
    client: Any,
    plan: ChunkPlan,
    journal: Any,
    made: Planned | None,
    progress: bool,
    verify: Checker | None,
) -> Rows:
    rows = Rows(plan.keys)
    outlines = made.outlines if made is not None else None
    log = None
    if journal is not None and outlines is not None:
        log = Journal(journal, plan.project, plan.kind,
                      plan_fingerprint(plan.kind, plan.project, outlines))  # fmt: skip
    run = log.run if log is not None else new_run()
    rows.run = run
    stop_reason: str | None = None
    todo: Iterable[Chunk] = outlines if outlines is not None else plan.cut()
    if progress:  # imported only when wanted: tqdm.auto warns in kernels without ipywidgets
        from tqdm.auto import tqdm

        todo = tqdm(todo, unit="request", desc=f"import {plan.kind}")
    try:
        for outline in todo:
            span = range(outline.start, outline.stop)
            for i in span:
                rows.chunk[i] = outline.index
            if log is not None and log.is_acked(outline.index, outline.sha256):
                for i in span:
                    rows.status[i] = "skipped (journal)"
                continue
            if stop_reason is None and made is not None:
                chunk = made.chunk(outline)
                if chunk.sha256 != outline.sha256:  # the input changed since it was planned
                    stop_reason = (
                        f"not sent: chunk {outline.index} no longer has the planned content "
                        "(was the input changed during the import?)"
                    )
            else:
                chunk = outline
            if stop_reason is not None:
                for i in span:
                    rows.error[i] = stop_reason
                continue
            key = request_key(run, chunk.key)
            if log is not None:
                log.sending(chunk.index, key, chunk.sha256)
            try:
                answer = post_chunk(client, chunk, key)
            except AngoError as exc:
                message = f"{type(exc).__name__}: {exc}"
                for i in span:
                    rows.status[i], rows.error[i] = "failed", message
                if isinstance(exc, AuthError):  # every later chunk would be refused the same way
                    stop_reason = f"not sent after {message}"
                continue
            outcome = read_reply(plan.kind, answer, len(span))
            check = None
            if verify is not None:

                def check(s: range, items: list[Any] = chunk.items) -> list[str | bool | None]:
                    return verify(s, items)

            if settle(rows, span, outcome, check) and log is not None:
                log.ack(chunk.index, key, chunk.sha256)
            del chunk, check  # its items and bytes go now, before the next is made
    finally:
        if log is not None:
            log.close()
    return rows


def new_run() -> str:
    """A fresh import run id (the idempotency keys of one run are unique to it)."""
    return uuid.uuid4().hex


def raise_if_incomplete(results: pd.DataFrame, requests: int, kind: str, journaled: bool) -> None:
    """Raise ``ImportIncomplete`` saying exactly what went and what did not, if anything failed."""
    bad = results["status"].isin(BAD_STATUSES)
    if not bad.any():
        return
    counts = results.loc[bad, "status"].value_counts()
    said = ", ".join(f"{n} {status}" for status, n in counts.items())
    failed = results.loc[bad, "chunk"].nunique()
    named = []
    for status in ("unmatched", "incomplete", "unconfirmed"):
        picked = results.loc[results["status"] == status, "key"]
        if len(picked):
            more = f" and {len(picked) - 10} more" if len(picked) > 10 else ""
            named.append(f"{status}: {', '.join(map(str, picked.head(10)))}{more}")
    first = results.loc[bad, "error"].dropna()
    hint = " Re-run with the same journal to send only what did not go." if journaled else ""
    names = f" {'; '.join(named)}." if named else ""
    raise ImportIncomplete(
        f"{failed} of {requests} request(s) did not go through in full: {int(bad.sum())} of "
        f"{len(results)} {kind} item(s) not applied ({said}; {int((~bad).sum())} sent or "
        f"already acked).{names} First error: {first.iloc[0] if len(first) else 'unknown'}."
        f"{hint}",
        results,
    )
