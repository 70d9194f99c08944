"""Ango exports and imports on a Dask cluster (the ``ango-frames[dask]`` extra).

::

    from dask.distributed import Client
    import ango_frames.dask as afd

    client = Client("tcp://scheduler:8786")          # or a LocalCluster
    tables = afd.read_export("s3://bucket/export.ndjson", storage_options={...})
    tables.objects.groupby("title").size().compute()
    afd.to_parquet(tables, "s3://bucket/tidy/", storage_options={...})

Reading cuts each export into parts (zip members, byte ranges of ndjson) with
``records.plan_parts``; each part is flattened ONCE by ``parts.flatten_part`` on a worker and
kept there, and every table's partitions are cut from those results. Imports send chunks from
every partition under one cluster-wide rate limit (see :func:`import_labels`).
"""

from __future__ import annotations

try:
    import dask
    import dask.dataframe  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "ango_frames.dask needs Dask; install it with: pip install 'ango-frames[dask]'"
    ) from exc

from ango_frames.dask._import import import_labels
from ango_frames.dask._parquet import to_parquet
from ango_frames.dask._read import DaskExportTables, read_export

__all__ = ["DaskExportTables", "import_labels", "read_export", "to_parquet"]
