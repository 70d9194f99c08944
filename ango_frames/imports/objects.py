"""The objects frame of a labels import: classes, tools, geometry, ids and nested answers per row.

Everything is computed column-wise once; :meth:`ObjectRows.dicts` then writes the object dicts
with one ``zip`` over plain lists (the hot loop of a million-row import).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError
from ango_frames.imports.answers import Entry, nested_from_columns
from ango_frames.imports.asset_keys import (
    AssetKeys,
    as_bool,
    as_int,
    group_bounds,
    id_column,
    made_up_ids,
)
from ango_frames.imports.coded import Coded, compact
from ango_frames.imports.geometry import SEND_KEYS, asset_sizes, build_geometry, infer_tools
from ango_frames.imports.ontology import Ontology
from ango_frames.imports.options import PayloadOptions
from ango_frames.imports.problems import Problems
from ango_frames.imports.shapes import notna_mask

__all__ = ["ObjectRows"]


def _digest(text: str, size: int = 8) -> str:
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


class ObjectRows:
    """Per-row state of the objects frame while a payload is built."""

    def __init__(
        self,
        frame: pd.DataFrame,
        codes: np.ndarray,
        keys: AssetKeys,
        onto: Ontology | None,
        problems: Problems,
    ) -> None:
        self.frame = frame
        self.codes = codes
        self.keys = keys
        self.onto = onto
        self.problems = problems
        n = len(frame)
        self.n = n
        # row -> its nested answers, for the rows that have any (not a list per row)
        self.nested: dict[int, list[dict[str, Any]]] = {}
        self.tracks: dict[tuple[int, str], str] = {}
        self._any_nested: bool | None = None
        self.page = as_int(frame, "page") or as_int(frame, "frame")

    # ---- per-column resolution -----------------------------------------------------------
    def build(self, opts: PayloadOptions, *, aid: np.ndarray, ext: np.ndarray) -> None:
        p = self.problems
        self.schema = self._classes()
        self.tools = self._tools(opts.box_format)
        width, height = asset_sizes(self.frame, opts.sizes, aid, ext)
        self.geometry = build_geometry(
            self.frame,
            self.tools,
            ~p.bad,
            p,
            box_format=opts.box_format,
            normalized=opts.normalized,
            width=width,
            height=height,
        )
        if self.page is not None:
            raw = pd.to_numeric(self.frame[self.page_column], errors="coerce")
            values = raw.to_numpy("float64", na_value=np.nan)
            given = self.frame[self.page_column].notna().to_numpy(dtype=bool)
            with np.errstate(invalid="ignore"):
                # finite and within int32 too: inf or 1e30 became INT64_MIN in the body
                whole = (values >= 0) & (values == np.round(values)) & (values < 2**31)
                bad = given & ~whole
            p.add(
                bad, self.page_column, "wrong_type", self.frame[self.page_column].to_numpy(object)
            )
        self.flags = {
            field: as_bool(self.frame, column, p)
            for column, field in (
                ("interpolation_stopped", "interpolationStopped"),
                ("lock", "lock"),
            )
        }
        self._ids = self._object_ids()
        self._duplicates()
        if opts.nested:
            got = nested_from_columns(
                self.frame, dict(opts.nested), self.schema, ~p.bad, self.onto, p
            )
            self.nested = {i: v for i, v in enumerate(got) if v is not None}

    @property
    def page_column(self) -> str:
        return "page" if "page" in self.frame.columns else "frame"

    def _classes(self) -> np.ndarray:
        frame, p = self.frame, self.problems
        sid, title = id_column(frame, "schema_id"), id_column(frame, "title")
        if "schema_id" not in frame.columns and "title" not in frame.columns:
            p.add(np.ones(self.n, dtype=bool), "schema_id", "missing_column")
            return sid
        need = pd.isna(sid) & pd.notna(title)
        if need.any():
            if self.onto is None:
                raise ConfigError(
                    "rows name their class by title: pass ontology= (the project, or its "
                    "categorySchema) so titles resolve to schemaIds, or give a schema_id column"
                )
            titles = self.onto.titles("tools")
            wanted = pd.Series(title[need], dtype=object)
            found = wanted.map(lambda t: titles.get(t, [])).to_numpy(dtype=object)
            pos = np.flatnonzero(need)
            counts = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
            sid[pos[counts == 1]] = [f[0] for f in found[counts == 1]]
            p.add(pos[counts == 0], "title", "unknown_class", title[pos[counts == 0]])
            p.add(pos[counts > 1], "title", "ambiguous_title", title[pos[counts > 1]])
        p.add(pd.isna(sid) & pd.isna(title), "schema_id", "unknown_class")
        if self.onto is not None:
            known = pd.Series(sid, dtype=object).isin(list(self.onto.tools)).to_numpy(dtype=bool)
            p.add(pd.notna(sid) & ~known & ~p.bad, "schema_id", "unknown_class", sid)
        return sid

    def _tools(self, box_format: str) -> np.ndarray:
        frame, p = self.frame, self.problems
        given = id_column(frame, "tool")
        tools = given.copy()
        if self.onto is not None:
            types = {k: v.tool for k, v in self.onto.tools.items()}
            from_onto = pd.Series(self.schema, dtype=object).map(types).to_numpy(dtype=object)
            from_onto[pd.isna(from_onto)] = None
            # the ontology calls a medical 3D box a bounding-box: a row with z says which it is
            sent_as = pd.Series(given, dtype=object).map(SEND_KEYS).to_numpy(dtype=object)
            clash = pd.notna(given) & pd.notna(from_onto) & (given != from_onto)
            clash &= ~(sent_as == from_onto)
            p.add(clash, "tool", "tool_mismatch", given)
            fill = pd.isna(tools)
            tools[fill] = from_onto[fill]
            has_z = (notna_mask(frame, "z1") & notna_mask(frame, "z2")) | (
                notna_mask(frame, "z") & notna_mask(frame, "depth")
            )
            tools[fill & has_z & (tools == "bounding-box")] = "bounding-box-3d"
        missing = pd.isna(tools)
        if missing.any():
            guessed = infer_tools(frame, box_format)
            tools[missing] = guessed[missing]
            none = pd.isna(tools) & ~p.bad
            p.add(none, "tool", "missing_column")
        return tools

    def _object_ids(self) -> Any:
        """Given object ids, else generated: per track, or per asset and position in it."""
        columns = self.frame.columns
        if "object_id" not in columns and "track_id" not in columns:  # every id generated
            self.alias: dict[tuple[int, str], str] = {}
            self.generated = self._plain = self.codes >= 0
            self._ordinal = self._ordinals()
            self.track: Any = Coded.blank(self.n)
            return Coded.blank(self.n)
        none = np.full(self.n, None, dtype=object)  # shared by the columns that are absent
        given = id_column(self.frame, "object_id") if "object_id" in columns else none
        track = id_column(self.frame, "track_id") if "track_id" in columns else none
        codes = self.codes
        keyed = codes >= 0
        uniques = self.keys.uniques
        # ids the export reader made up are no hub ids: rows sharing one get one generated id,
        # and relations / nested answers that name it follow it (``alias``)
        made = np.zeros(self.n, dtype=bool)
        if given is not none:
            made = keyed & made_up_ids(given, id_column(self.frame, "task_id"), "o")
        ids = given.copy() if "object_id" in columns or "track_id" in columns else none
        made_pos = np.flatnonzero(made)
        new: list[str] = []
        digests: dict[tuple[int, str], str] = {}
        for c, value in zip(codes[made_pos].tolist(), given[made_pos].tolist(), strict=True):
            task, _, tail = value.rpartition("/")  # one digest per task, its o<n> kept
            digest = digests.get((c, task))
            if digest is None:
                digest = digests[(c, task)] = _digest(f"{uniques[c]}\x1fm\x1f{task}")
            new.append(f"{digest}-{tail}")
        ids[made_pos] = new
        self.alias = dict(
            zip(
                zip(codes[made_pos].tolist(), given[made_pos].tolist(), strict=True),
                new,
                strict=True,
            )
        )
        for i in np.flatnonzero(keyed & pd.notna(track)).tolist():
            tkey = (int(codes[i]), track[i])
            if tkey not in self.tracks:
                self.tracks[tkey] = ids[i] or _digest(f"{uniques[codes[i]]}\x1ft\x1f{track[i]}", 12)
            if ids[i] is None:
                ids[i] = self.tracks[tkey]
        # the others: ``<digest of the asset>-<position in it>``, written when asked for
        # (ids_at), so a million generated ids are not a million strings held at once
        self._plain = keyed & pd.isna(ids)
        self._ordinal = self._ordinals() if self._plain.any() else None
        self.generated = keyed & (pd.isna(given) | made)
        self.track = track
        return ids

    def _ordinals(self) -> np.ndarray | None:
        """The position of each row in its asset (None when no row has an asset)."""
        codes = self.codes
        if not self.n or not (codes >= 0).any():
            return None
        order, starts = group_bounds(codes, len(self.keys.uniques))
        small = np.int32 if self.n < 2**31 else np.int64
        ordinal = np.zeros(self.n, dtype=small)
        ordinal[order] = np.arange(len(order), dtype=small)
        del order
        # its rank minus its asset's first rank
        ordinal -= starts[np.maximum(codes, 0)].astype(small)
        return ordinal

    def ids_at(self, pos: np.ndarray) -> np.ndarray:
        """The object ids of rows ``pos`` (generated ones written now)."""
        out = self._ids[pos]
        plain = self._plain[pos]
        if self._ordinal is not None and plain.any():
            where = pos[plain]
            codes = self.codes[where].tolist()
            # the asset digests of these rows only (made per chunk, not held for every asset)
            uniques = self.keys.uniques
            digest = {c: _digest(str(uniques[c])) for c in dict.fromkeys(codes)}
            out[plain] = [
                f"{digest[c]}-{o}"
                for c, o in zip(codes, self._ordinal[where].tolist(), strict=True)
            ]
        return out

    @property
    def ids(self) -> np.ndarray:
        """Every row's object id (``None`` for rows without an asset)."""
        if self._ordinal is not None:
            self._ids = self.ids_at(np.arange(self.n))
            self._plain = np.zeros(self.n, dtype=bool)
            self._ordinal = None
        return self._ids

    def _duplicates(self) -> None:
        cols = self.frame.columns
        if "object_id" not in cols and "track_id" not in cols:
            return  # generated per row: unique by construction
        page = self.page[0] if self.page is not None else np.zeros(self.n, dtype=np.int64)
        has_page = self.page[1] if self.page is not None else np.zeros(self.n, dtype=bool)
        key = pd.DataFrame({"c": self.codes, "o": self.ids, "p": np.where(has_page, page, -1)})
        dup = key.duplicated(keep=False).to_numpy() & (self.codes >= 0) & pd.notna(self.ids)
        self.problems.add(dup, "object_id", "duplicate_object_id", self.ids)

    # ---- links from other tables -----------------------------------------------------------
    def object_schema(self) -> dict[tuple[int, str], str]:
        """(asset code, object_id) -> class schemaId, for every row with both."""
        out: dict[tuple[int, str], str] = {}
        for c, o, s in zip(
            self.codes.tolist(), self.ids.tolist(), self.schema.tolist(), strict=True
        ):
            if c >= 0 and o is not None and s is not None:
                out.setdefault((c, o), s)
        for (c, made), o in self.alias.items():
            if (c, o) in out:
                out.setdefault((c, made), out[(c, o)])
        return out

    def links(self) -> dict[tuple[int, str], str]:
        """(asset code, name) -> object id, for relation ends that name an object by its
        ``track_id`` or by an id the export reader made up."""
        return {**self.tracks, **self.alias}

    def attach(self, entries: list[Entry], cp: Problems) -> None:
        """Hang nested answers (entries with an object_id) on their object rows.

        Matched on (asset, object_id, page). An answer without a page on an object with several
        rows (a video track) goes to the track's k-th row for its k-th repeat (the order the
        export lists them in). A rejected answer rejects its object.
        """
        owned = [e for e in entries if e.object_id is not None]
        if not owned:
            return
        exact: dict[tuple[int, str | None, int | None], int] = {}
        nth: dict[tuple[int, str | None], list[int]] = {}
        page = self.page
        for i, (c, o) in enumerate(zip(self.codes.tolist(), self.ids.tolist(), strict=True)):
            if c < 0 or o is None:
                continue
            pg = int(page[0][i]) if page is not None and page[1][i] else None
            exact.setdefault((c, o, pg), i)
            nth.setdefault((c, o), []).append(i)
        for entry in owned:
            oid = self.alias.get((entry.code, entry.object_id or ""), entry.object_id)
            pos = exact.get((entry.code, oid, entry.page))
            frames = nth.get((entry.code, oid), [])
            if entry.page is None and len(frames) > 1:
                pos = frames[entry.occurrence] if entry.occurrence < len(frames) else None
            elif pos is None and entry.page is None and frames:
                pos = frames[0]
            if pos is None:
                if not entry.bad:
                    cp.one(entry.rows[0], "page", "dangling_answer", entry.page)
                continue
            if entry.bad:
                if not self.problems.bad[pos]:
                    reason = entry.reason or "wrong_answer_type"
                    self.problems.one(pos, "classifications", reason, entry.schema_id)
                continue
            got = self.nested.get(pos)
            if got is None:
                got = self.nested[pos] = []
            got.append(entry.body)

    def ids_by_asset(self, include_bad: bool) -> dict[int, set[str]]:
        """The object ids of each asset (of valid rows only unless ``include_bad``)."""
        out: dict[int, set[str]] = {}
        ok = (self.codes >= 0) if include_bad else (self.codes >= 0) & ~self.problems.bad
        for c, o in zip(self.codes[ok].tolist(), self.ids[ok].tolist(), strict=True):
            out.setdefault(c, set()).add(o)
        return out

    def compact(self) -> None:
        """Shrink what the output still needs once every row is checked: columns of few distinct
        values become codes, and nothing made only for checking is kept."""
        self._any_nested = bool(self.nested)
        self.schema = compact(self.schema)
        self.tools = compact(self.tools)
        self.track = compact(self.track)
        if self._ordinal is not None:
            # the ids still needed by name are written already: the rest are written per chunk
            self._ids = compact(self._ids)

    # ---- output ------------------------------------------------------------------------------
    def any_nested(self) -> bool:
        """Whether any row has nested answers (known once every row is built)."""
        if self._any_nested is None:
            self._any_nested = bool(self.nested)
        return self._any_nested

    def dicts(self, pos: np.ndarray) -> list[dict[str, Any]]:
        """The import object dicts of rows ``pos``, in that order."""
        plist = pos.tolist()
        objs = [
            {"schemaId": s, "objectId": o, SEND_KEYS.get(t, t): g}
            for s, o, t, g in zip(
                self.schema[pos].tolist(),
                self.ids_at(pos).tolist(),
                self.tools[pos].tolist(),
                self.geometry.values(pos),
                strict=True,
            )
        ]
        if self.page is not None:
            values, present = self.page[0][pos].tolist(), self.page[1][pos].tolist()
            for d, v, ok in zip(objs, values, present, strict=True):
                if ok:
                    d["page"] = v
        for field, flags in self.flags.items():
            if flags is not None:
                for d, v in zip(objs, flags[pos].tolist(), strict=True):
                    if v is not None:
                        d[field] = v
        if self.any_nested():
            for d, i in zip(objs, plist, strict=True):
                got = self.nested.get(i)
                if got:
                    d["classifications"] = got
        return objs

    def scores(self, pos: np.ndarray, label_of_row: np.ndarray) -> pd.DataFrame:
        """``row, label, object_id, score`` of the sent rows that have a score."""
        if "score" not in self.frame.columns:
            return pd.DataFrame(columns=["row", "label", "object_id", "score"])
        score = pd.to_numeric(self.frame["score"], errors="coerce").to_numpy(
            "float64", na_value=np.nan
        )
        pos = pos[~np.isnan(score[pos])]
        return pd.DataFrame(
            {
                "row": self.frame.index[pos],
                "label": label_of_row[pos],
                "object_id": pd.Series(self.ids_at(pos), dtype=object),
                "score": score[pos],
            }
        )

    def id_map(self, pos: np.ndarray, label_of_row: np.ndarray) -> pd.DataFrame:
        """``row, label, track_id, object_id`` of the sent rows whose object id was generated."""
        pos = pos[self.generated[pos]]
        return pd.DataFrame(
            {
                "row": self.frame.index[pos],
                "label": label_of_row[pos],
                "track_id": pd.Series(self.track[pos], dtype=object),
                "object_id": pd.Series(self.ids_at(pos), dtype=object),
            }
        )
