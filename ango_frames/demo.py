"""``ango-frames demo``: the whole loop against the built-in local hub, in well under a minute.

Start the local hub with its demo project, export it, write tidy Parquet tables, summarise them,
push model predictions back as pre-labels, re-export and show that they arrived.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from ango_frames.api.client import Client
from ango_frames.export.parquet import export_to_parquet
from ango_frames.export.tables import ExportTables, read_export
from ango_frames.imports.send import import_labels

__all__ = ["fake_predictions", "run_demo"]


def fake_predictions(
    tables: ExportTables, *, seed: int = 0, classes: tuple[str, ...] = ("car", "person")
) -> pd.DataFrame:
    """A detector's output for the image assets that have no labels yet (for demos and tests).

    Columns: external_id, title, x, y, width, height (top-left, pixels), score. Boxes lie inside
    the asset (its metadata width / height).
    """
    rng = random.Random(seed)
    tasks = tables.tasks
    labelled = set(tables.objects["task_id"])
    free = tasks[~tasks["task_id"].isin(labelled)]
    if "metadata_width" in free.columns:
        free = free[free["metadata_width"].notna() & free["metadata_height"].notna()]
    free = free[free["external_id"].str.endswith((".jpg", ".png")).fillna(False).astype(bool)]
    rows = []
    for ext, w, h in zip(free["external_id"], free["metadata_width"], free["metadata_height"]):
        for _ in range(rng.randint(1, 3)):
            bw, bh = rng.uniform(0.05, 0.3) * w, rng.uniform(0.05, 0.3) * h
            rows.append(
                {
                    "external_id": ext,
                    "title": rng.choice(classes),
                    "x": round(rng.uniform(0, w - bw), 2),
                    "y": round(rng.uniform(0, h - bh), 2),
                    "width": round(bw, 2),
                    "height": round(bh, 2),
                    "score": round(rng.uniform(0.3, 0.99), 3),
                }
            )
    return pd.DataFrame(rows)


def _summary(tables: ExportTables, echo: Callable[[str], Any]) -> dict[str, Any]:
    rows = {name: len(frame) for name, frame in tables.items()}
    echo("rows per table:")
    for name, n in rows.items():
        echo(f"  {name:24s} {n:>7,d}")
    # a video track has one row per frame: count each (task_id, object_id) once, as notebook 01
    distinct = tables.objects.drop_duplicates(["task_id", "object_id"])
    per_class = distinct.groupby("title", observed=True).size().sort_values(ascending=False)
    echo("objects per class (distinct objects; a video track counts once):")
    for title, n in per_class.items():
        echo(f"  {title:24s} {n:>7,d}")
    hist = tables.stage_history
    per_stage = (hist.groupby("stage", observed=True)["duration_ms"].median() / 1000).round(1)
    echo("median time per stage (s):")
    for stage, seconds in per_stage.items():
        echo(f"  {stage:24s} {seconds:>7.1f}")
    return {
        "rows": rows,
        "objects_per_class": per_class.astype(int).to_dict(),
        "median_stage_seconds": per_stage.astype(float).to_dict(),
    }


def run_demo(
    out_dir: str = "ango-frames-demo", *, echo: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Run the demo, writing under ``out_dir``; returns the figures it printed."""
    from ango_frames.testing import LocalHub

    started = time.monotonic()
    os.makedirs(out_dir, exist_ok=True)
    tables_dir = os.path.join(out_dir, "tables")
    with LocalHub() as hub, Client(base_url=hub.url, api_key=hub.api_key) as client:
        project = hub.project_id
        assert project is not None  # the demo hub always has its project
        echo(f"local Ango Hub at {hub.url}, demo project {project}")
        export = client.export(
            project,
            format="ndjson",
            include_history=True,
            include_metadata=True,
            dest=os.path.join(out_dir, "export.zip"),
        )
        echo(f"exported {export.size:,} bytes -> {export.path}")
        export_to_parquet(export, tables_dir, overwrite=True)  # the demo's own folder
        echo(f"tidy Parquet tables -> {tables_dir}/")
        tables = ExportTables.from_parquet(tables_dir)
        summary = _summary(tables, echo)

        predictions = fake_predictions(tables)
        predictions.to_parquet(os.path.join(out_dir, "predictions.parquet"))
        targets = set(predictions["external_id"])
        echo(
            f"importing {len(predictions):,} predicted boxes for {len(targets):,} unlabelled "
            "assets as pre-labels ..."
        )
        results = import_labels(client, project, predictions)
        assert isinstance(results, pd.DataFrame)  # not a dry run
        results.to_csv(os.path.join(out_dir, "import_results.csv"), index=False)
        echo("  " + ", ".join(f"{n} {s}" for s, n in results["status"].value_counts().items()))

        after = read_export(client.export(project, format="json"))
        arrived = after.objects.merge(after.tasks[["task_id", "external_id"]], on="task_id").query(
            "external_id in @targets"
        )
        echo(
            f"re-export: {len(arrived):,} of {len(predictions):,} predicted boxes are on their "
            f"assets ({arrived['external_id'].nunique():,} assets)"
        )
    summary.update(
        predictions=len(predictions),
        arrived=len(arrived),
        assets=len(targets),
        seconds=round(time.monotonic() - started, 2),
    )
    echo(f"done in {summary['seconds']} s; everything is under {out_dir}/")
    return summary
