"""One part of an export in, its tidy Arrow tables out: the unit of parallel work.

``records.plan_parts`` cuts an export into independent parts (zip members, byte ranges of an
ndjson file); ``flatten_part`` turns one into Arrow tables with the same code the single-stream
readers use. Worker processes and Dask partitions call it; ``unify`` brings the ``tasks`` tables
of several parts, whose dynamic ``metadata_*`` / ``context_*`` columns may differ, to one schema.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from ango_frames.export.flatten.flattener import BATCH_ROWS, Flattener, flatten_to_tables
from ango_frames.export.records import ExportPart, ReadLimits, iter_part_records
from ango_frames.schemas import DYNAMIC_PREFIXES, SCHEMAS

__all__ = ["FlatPart", "flatten_part", "unify"]


@dataclass
class FlatPart:
    """The tables of one part, the unknown keys met in it, and how many records it held."""

    tables: dict[str, pa.Table]
    unknown_keys: Counter = field(default_factory=Counter)
    records: int = 0


def flatten_part(
    part: ExportPart,
    *,
    tables: Iterable[str] | None = None,
    limits: ReadLimits | None = None,
    batch_rows: int = BATCH_ROWS,
    engine: str | None = None,
) -> FlatPart:
    """Read and flatten one part; every requested table is present (possibly with no rows).

    ``engine`` as for :class:`~ango_frames.export.flatten.flattener.Flattener`.
    """
    flat = Flattener(tables, engine=engine)
    records = iter_part_records(part, limits=limits, raw=flat.native)
    result = flatten_to_tables(records, flat, batch_rows=batch_rows)
    return FlatPart(result, flat.unknown_keys, flat.records)


def unify(table: str, schemas: Sequence[pa.Schema]) -> pa.Schema:
    """One schema for ``table`` from several parts (their dynamic columns merged).

    A column typed differently in two parts widens as the flattener does within one stream:
    int with float gives float64, anything else mixed gives string. Columns come in the
    flattener's order: the fixed ones, then ``metadata_*`` and ``context_*``, each sorted.
    """
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for f in schema:
            have = fields.get(f.name)
            if have is None or have.type == f.type or pa.types.is_null(f.type):
                fields.setdefault(f.name, f)
            elif pa.types.is_null(have.type):
                fields[f.name] = f
            elif _numeric(have.type) and _numeric(f.type):
                fields[f.name] = pa.field(f.name, pa.float64())
            else:
                fields[f.name] = pa.field(f.name, pa.string())
    fixed = SCHEMAS[table].names
    meta, ctx = DYNAMIC_PREFIXES["metadata"], DYNAMIC_PREFIXES["contextData"]
    dynamic = sorted(
        (n for n in fields if n not in fixed), key=lambda n: (not n.startswith(meta), n)
    )
    assert all(n.startswith((meta, ctx)) for n in dynamic), dynamic
    return pa.schema([fields[n] for n in fixed if n in fields] + [fields[n] for n in dynamic])


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)
