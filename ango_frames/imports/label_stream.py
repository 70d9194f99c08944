"""The labels of a validated import, made on demand (a range at a time), and their batch.

:func:`ango_frames.imports.labels.build_batch` checks every row and resolves every column
(classes, tools, geometry, ids, nested answers, relations) as whole arrays; what it hands on is
a :class:`LabelStream`, which writes the label dicts (and their object dicts) only for the labels
asked for, a block at a time. The importers cut chunks from it and serialise each chunk when it
is sent, so a million-row import never holds every label dict, or every chunk's bytes, at once.
A stream gives the same labels, in the same order, however it is sliced.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, overload

import numpy as np
import orjson
import pandas as pd

from ango_frames.imports.asset_keys import AssetKeys
from ango_frames.imports.object_text import object_texts
from ango_frames.imports.objects import ObjectRows

__all__ = ["LabelBatch", "LabelKeys", "LabelStream", "no_gc"]

_ANSWER = b'{"objects":[%b],"classifications":%b,"relations":%b}'
_PLAIN = b'{%b:%b,"answer":{"objects":[%b],"classifications":[],"relations":[]}}'
_PLAIN_FLAT = b'{%b:%b,"objects":[%b],"classifications":[],"relations":[]}'
_FIELDS = {f: orjson.dumps(f) for f in ("externalId", "assetId", "taskId")}
_FLAT = frozenset(("objects", "classifications", "relations"))

#: Labels written per block: enough to amortise the vectorised column reads, small enough that
#: a block's object dicts stay a few megabytes.
BLOCK = 1024


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic GC while many small dicts are made.

    The dicts hold no cycles; without this the collector rescans the growing heap every few
    thousand allocations and building takes about twice as long.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class LabelStream:
    """The labels of a built import, in sending order, written on demand.

    Parameters
    ----------
    rows : ObjectRows
        The resolved object rows.
    keys : AssetKeys
        The asset keys (the label's ``externalId`` / ``assetId`` / ``taskId``).
    codes : numpy.ndarray
        The asset code of each label, increasing.
    sorted_pos : numpy.ndarray
        The positions of the sent object rows, grouped by asset in code order.
    starts : numpy.ndarray
        ``sorted_pos[starts[c]:starts[c + 1]]`` are the object rows of asset ``c``.
    parts : tuple of dict
        Per asset code: global classifications, relations and brush fields.
    body : str
        ``labels``, ``import-file`` or ``annotate`` (:data:`ango_frames.imports.labels.BODIES`).
    extra : dict
        ``status`` / ``assignee`` put on every spec label.
    """

    def __init__(
        self,
        rows: ObjectRows,
        keys: AssetKeys,
        codes: np.ndarray,
        sorted_pos: np.ndarray,
        starts: np.ndarray,
        parts: tuple[dict[int, Any], dict[int, Any], dict[int, Any]],
        body: str,
        extra: dict[str, Any],
    ) -> None:
        self.rows = rows
        self.keys = keys
        self.codes = codes
        self.sorted_pos = sorted_pos
        self.starts = starts
        self.global_cls, self.rels, self.brushes = parts
        self.body = body
        self.extra = extra

    def __len__(self) -> int:
        return len(self.codes)

    def sizes(self) -> list[int]:
        """Per label, how many objects it holds."""
        return (self.starts[self.codes + 1] - self.starts[self.codes]).tolist()

    def labels(self, start: int = 0, stop: int | None = None) -> Iterator[dict[str, Any]]:
        """Labels ``start`` to ``stop`` (all by default), made a block at a time."""
        stop = len(self) if stop is None else min(stop, len(self))
        for lo in range(start, stop, BLOCK):
            yield from self._block(self.codes[lo : min(lo + BLOCK, stop)].tolist())

    def texts(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """``orjson.dumps`` of each of :meth:`labels` ``start`` to ``stop``, written without the
        label and object dicts (see :mod:`ango_frames.imports.object_text`)."""
        stop = len(self) if stop is None else min(stop, len(self))
        for lo in range(start, stop, BLOCK):
            codes = self.codes[lo : min(lo + BLOCK, stop)].tolist()
            if codes:
                with no_gc():
                    yield from self._texts(codes)

    def _texts(self, codes: list[int]) -> list[bytes]:
        where = np.asarray(codes)
        los = (self.starts[where] - self.starts[codes[0]]).tolist()
        his = (self.starts[where + 1] - self.starts[codes[0]]).tolist()
        first = int(self.starts[codes[0]])
        objs = object_texts(self.rows, self.sorted_pos[first : first + his[-1]])
        keys, dumps = self.keys, orjson.dumps
        flat = self.body == "import-file"
        field_of = keys.external_field if flat else keys.field
        extra = {} if flat else self.extra
        plain = not (self.global_cls or self.rels or self.brushes or extra)
        template = _PLAIN_FLAT if flat else _PLAIN
        if plain:  # objects only: the common case, one template
            named = _FIELDS.get
            return [
                template % (named(f) or dumps(f), dumps(v), b",".join(objs[lo:hi]))
                for (f, v), lo, hi in zip(map(field_of, codes), los, his, strict=True)
            ]
        out = []
        for code, lo, hi in zip(codes, los, his, strict=True):
            field, value = field_of(code)
            head = b"{%b:%b," % (dumps(field), dumps(value))
            tail = {**(self.brushes.get(code) or {}), **extra}
            if field in tail or (not flat and "answer" in tail) or (flat and _FLAT & tail.keys()):
                # keys that would merge: the dict decides (as :meth:`_make` writes it)
                out.append(dumps(self._make([code])[0]))
                continue
            cls = self.global_cls.get(code)
            rels = self.rels.get(code)
            answer = _ANSWER % (
                b",".join(objs[lo:hi]),
                dumps(cls) if cls else b"[]",
                dumps([b for _, b in rels]) if rels else b"[]",
            )
            more = b"," + dumps(tail)[1:-1] if tail else b""
            out.append(head + (answer[1:-1] if flat else b'"answer":' + answer) + more + b"}")
        return out

    def _block(self, codes: list[int]) -> list[dict[str, Any]]:
        """The labels of asset ``codes`` (made with the GC paused: they hold no cycles)."""
        if not codes:
            return []
        with no_gc():
            return self._make(codes)

    def _make(self, codes: list[int]) -> list[dict[str, Any]]:
        first = int(self.starts[codes[0]])
        objs = self.rows.dicts(self.sorted_pos[first : int(self.starts[codes[-1] + 1])])
        starts, keys, extra = self.starts, self.keys, self.extra
        flat = self.body == "import-file"
        out = []
        for code in codes:
            lo, hi = int(starts[code]) - first, int(starts[code + 1]) - first
            answer = {
                "objects": objs[lo:hi],
                "classifications": self.global_cls.get(code, []),
                "relations": [b for _, b in self.rels.get(code, [])],
            }
            brush = self.brushes.get(code) or {}
            if flat:
                field, value = keys.external_field(code)
                out.append({field: value, **answer, **brush})
            else:
                field, value = keys.field(code)
                out.append({field: value, "answer": answer, **brush, **extra})
        return out


class LabelKeys(Sequence[tuple[str, str]]):
    """Per label, its asset key field and value (``("externalId", "0001.jpg")``), written when
    read: a million-row import holds its assets' keys once, not a tuple and a string per label.

    Compares equal to a list of the same tuples.
    """

    def __init__(self, keys: AssetKeys, codes: np.ndarray, external: bool = False) -> None:
        self._field = keys.external_field if external else keys.field
        self.codes = codes

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, i: int) -> tuple[str, str]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[str, str]]: ...

    def __getitem__(self, i: int | slice) -> tuple[str, str] | list[tuple[str, str]]:
        if isinstance(i, slice):
            return [self._field(c) for c in self.codes[i].tolist()]
        return self._field(int(self.codes[i]))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return map(self._field, self.codes.tolist())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, tuple, LabelKeys)):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(map(repr, self[:3]))
        return f"LabelKeys([{head}{', ...' if len(self) > 3 else ''}], {len(self)} labels)"


class LabelBatch:
    """A built labels payload and what the importer and dry run need to report on it.

    Attributes
    ----------
    body : dict
        The request body: ``{"project": ..., "labels": [...]}`` (ImportLabelsRequest), or
        ``{"project": ..., "jsonContent": [...]}`` for the import-file body. Made (once) when
        first read; the importers read :attr:`stream` instead and never hold it whole.
    stream : LabelStream or None
        The labels written on demand, a range at a time (None for a body given ready-made).
    keys : list of (str, str)
        Per label, the asset key field and value, e.g. ``("externalId", "0001.jpg")`` (made
        when first read; :attr:`label_keys` gives them without a list).
    row_index : list of numpy.ndarray
        Per label, the index labels of the object rows that produced it.
    scores : pandas.DataFrame
        ``row, label, object_id, score`` for every sent object with a ``score`` (never sent).
    id_map : pandas.DataFrame
        Generated object ids: ``row, label, track_id, object_id``.
    rejected : pandas.DataFrame
        The object rows left out (``on_error="skip"``); empty otherwise.
    failures : pandas.DataFrame
        Every problem found (``row, column, reason, value``), in every input table.
    """

    def __init__(
        self,
        body: dict[str, Any] | None,
        keys: Sequence[tuple[str, str]],
        row_index: list[np.ndarray] | Callable[[], list[np.ndarray]],
        scores: pd.DataFrame | Callable[[], pd.DataFrame],
        id_map: pd.DataFrame | Callable[[], pd.DataFrame],
        rejected: pd.DataFrame,
        failures: pd.DataFrame,
        *,
        stream: LabelStream | None = None,
        project: str = "",
        field: str = "labels",
    ) -> None:
        if body is None and stream is None:
            raise ValueError("a LabelBatch needs a body or a stream")
        self._body = body
        self.stream = stream
        self.project = body.get("project", project) if body is not None else project
        self.field = field if body is None else ("labels" if "labels" in body else "jsonContent")
        self.label_keys = keys
        # made when first read: a million-row import need not hold them while it sends
        self._made: dict[str, Any] = {"row_index": row_index, "scores": scores, "id_map": id_map}
        self.rejected = rejected
        self.failures = failures

    @property
    def keys(self) -> list[tuple[str, str]]:
        if not isinstance(self.label_keys, list):
            self.label_keys = list(self.label_keys)
        return self.label_keys

    def _get(self, name: str) -> Any:
        value = self._made[name]
        if callable(value):
            value = self._made[name] = value()
        return value

    @property
    def row_index(self) -> list[np.ndarray]:
        return self._get("row_index")

    @property
    def scores(self) -> pd.DataFrame:
        return self._get("scores")

    @property
    def id_map(self) -> pd.DataFrame:
        return self._get("id_map")

    def n_objects(self) -> list[int]:
        """Per label, how many objects it holds."""
        if self.stream is not None:
            return self.stream.sizes()
        return [len(r) for r in self.row_index]

    def score_frame(self) -> pd.DataFrame:
        """:attr:`scores`, made for this call only when it was not made yet."""
        value = self._made["scores"]
        return value() if callable(value) else value

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            assert self.stream is not None
            with no_gc():
                self._body = {"project": self.project, self.field: list(self.stream.labels())}
        return self._body

    @body.setter
    def body(self, value: dict[str, Any]) -> None:
        self._body = value

    @property
    def labels(self) -> list[dict[str, Any]]:
        """The built items: spec labels, or import-file items (``jsonContent``)."""
        return self.body["labels"] if "labels" in self.body else self.body["jsonContent"]

    def items(self, start: int = 0, stop: int | None = None) -> Iterator[dict[str, Any]]:
        """Items ``start`` to ``stop``, made on demand (from the body when it was made)."""
        if self._body is None and self.stream is not None:
            return self.stream.labels(start, stop)
        return iter(self.labels[start:stop])

    def texts(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """``orjson.dumps`` of each of :meth:`items` ``start`` to ``stop``, made on demand."""
        if self._body is None and self.stream is not None:
            return self.stream.texts(start, stop)
        return map(orjson.dumps, self.labels[start:stop])

    def __len__(self) -> int:
        return len(self.label_keys)

    def __repr__(self) -> str:
        n_obj = sum(self.n_objects())
        return (
            f"LabelBatch({len(self)} labels, {n_obj} objects, "
            f"{len(self.rejected)} rejected rows, {len(self.failures)} problems)"
        )
