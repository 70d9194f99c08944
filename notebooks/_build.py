"""Write the example notebooks from the cell sources below, executed, with their outputs.

Run from the repository root after editing a notebook's cells here::

    python notebooks/_build.py            # every notebook
    python notebooks/_build.py 01 04      # the ones whose names start so

Each notebook is run against the built-in local hub and saved with its outputs, so a reader sees
the tables and plots on the repository page; outputs are deterministic (seeded demo data, no
timestamps, addresses or temporary paths; see ``_common.scrub``). Keeping the cells in Python
files keeps the notebooks' diffs reviewable. To add a cell, add a ``("code", source)`` or
``("md", text)`` tuple to a notebook's list below; to add a notebook, add it to ``NOTEBOOKS``.
``tests/docs/test_notebooks.py`` re-executes each one and compares its text outputs with the
committed ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import SETUP, TEARDOWN, WHERE, build_executed  # noqa: E402
from _look_cells import LOOK_AND_MASKS  # noqa: E402

EXPORT_AND_ANALYSE = [
    (
        "md",
        "# Export a project and analyse it with pandas\n\n"
        "Export with stage history and metadata, read it into tidy DataFrames, then look at "
        "objects per class, time per stage, and what reviewers changed.\n\n" + WHERE,
    ),
    ("code", SETUP),
    ("md", "## Export to DataFrames\n\nOne table per kind of row, all joined by `task_id`."),
    (
        "code",
        """\
export = client.export(project_id, format="ndjson", include_history=True, include_metadata=True)
tables = read_export(export)
tables""",
    ),
    (
        "code",
        """\
columns = ["task_id", "external_id", "stage", "metadata_width", "metadata_height"]
tables.tasks[[c for c in columns if c in tables.tasks]].head()""",
    ),
    (
        "md",
        "## Objects per class\n\nVideo objects have one row per frame, so count distinct "
        "`(task_id, object_id)` pairs.",
    ),
    (
        "code",
        """\
per_class = (
    tables.objects.drop_duplicates(["task_id", "object_id"])
    .groupby(["tool", "title"])
    .size()
    .sort_values(ascending=False)
    .rename("objects")
)
per_class""",
    ),
    (
        "md",
        "## The same tables in SQL\n\n`tables.to_duckdb()` registers every table in a DuckDB "
        "connection without copying (needs `pip install 'ango-frames[duckdb]'`). Nested answers "
        "join their object on `(task_id, object_id)`.",
    ),
    (
        "code",
        '''\
con = tables.to_duckdb()
con.sql("""
    SELECT o.title AS object, c.title AS question, c.answer,
           count(DISTINCT o.object_id) AS objects   -- objects has one row per video frame
    FROM objects o JOIN classifications c USING (task_id, object_id)
    GROUP BY ALL ORDER BY objects DESC, object, question, answer
""").df()''',
    ),
    (
        "md",
        "## Time per stage\n\n`stage_history` has one row per stage a task left, with "
        "`duration_ms`.",
    ),
    (
        "code",
        """\
minutes = tables.stage_history.assign(minutes=tables.stage_history["duration_ms"] / 60_000)
per_stage = minutes.groupby("stage")["minutes"].agg(["count", "median", "mean", "max"]).round(1)
per_stage""",
    ),
    (
        "code",
        """\
import io

import matplotlib

matplotlib.use("Agg")  # no display needed; the PNG goes into the notebook below
import matplotlib.pyplot as plt
from IPython.display import Image, display

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
per_class.droplevel("tool").plot.barh(ax=left, color="#3366FF")
left.set_title("objects per class")
left.invert_yaxis()
worked = minutes[minutes["minutes"] > 0]
worked.boxplot(column="minutes", by="stage", ax=right, grid=False)
right.set_title("minutes per stage")
fig.suptitle("")
fig.tight_layout()
png = io.BytesIO()
fig.savefig(png, format="png", dpi=80, metadata={"Software": None})  # stable bytes
plt.close(fig)
display(Image(png.getvalue()))""",
    ),
    (
        "md",
        "## What reviewers changed\n\n"
        "`history_objects` holds each stage's snapshot of the objects, linked to "
        "`stage_history` by `(task_id, history_order)`. Join the Label and Review snapshots on "
        "the object: only in Label = deleted, only in Review = added, in both with other "
        "geometry = moved.",
    ),
    (
        "code",
        """\
stages = tables.stage_history[["task_id", "history_order", "stage"]]
snap = tables.history_objects.merge(stages, on=["task_id", "history_order"])
label, review = snap[snap["stage"] == "Label"], snap[snap["stage"] == "Review"]
reviewed = set(label["task_id"]) & set(review["task_id"])  # tasks that went through both
key = ["task_id", "object_id", "page"]
geometry = ["x", "y", "width", "height", "rotation", "points", "zones", "start", "end"]
pairs = label[label["task_id"].isin(reviewed)][[*key, "title", *geometry]].merge(
    review[review["task_id"].isin(reviewed)][[*key, "title", *geometry]],
    on=key,
    how="outer",
    suffixes=("_label", "_review"),
    indicator=True,
)


def differs(a: pd.Series, b: pd.Series) -> pd.Series:
    \"\"\"True where two columns differ; two missing values are equal.\"\"\"
    a, b = a.astype("string"), b.astype("string")  # also compares lists of points
    return ~(a.eq(b).fillna(False) | (a.isna() & b.isna()))


moved = pd.concat([differs(pairs[f"{g}_label"], pairs[f"{g}_review"]) for g in geometry], axis=1)
pairs["change"] = "unchanged"
pairs.loc[(pairs["_merge"] == "both") & moved.any(axis=1), "change"] = "moved"
pairs.loc[pairs["_merge"] == "left_only", "change"] = "deleted"
pairs.loc[pairs["_merge"] == "right_only", "change"] = "added"
pairs["title"] = pairs["title_review"].fillna(pairs["title_label"])
print(f"{len(reviewed)} reviewed tasks")
pd.crosstab(pairs["title"], pairs["change"], margins=True)""",
    ),
    (
        "md",
        "Changed answers: the same classification (of the task, or of an object) with "
        "different values in the Label and Review snapshots of `history_classifications`.",
    ),
    (
        "code",
        """\
answers = tables.history_classifications.merge(stages, on=["task_id", "history_order"])
answers = answers[answers["task_id"].isin(reviewed)]
values = (
    answers.groupby(["task_id", "object_id", "title", "stage"], dropna=False)["answer"]
    .agg(lambda s: " | ".join(sorted(s.dropna().astype(str))))
    .unstack("stage")
    .reindex(columns=["Label", "Review"])  # a project may have no Review stage yet
)
both = values.dropna(subset=["Label", "Review"])
changed = both[both["Label"] != both["Review"]].reset_index()
print(f"{len(changed)} of {len(both)} answers changed in review")
changed[["task_id", "object_id", "title", "Label", "Review"]].head(10)""",
    ),
    ("code", 'changed.groupby("title").size().rename("changed answers")'),
    ("md", "## Clean up"),
    ("code", TEARDOWN),
]

TRAINING_DATA = [
    (
        "md",
        "# Training data: boxes, a split by asset, COCO and YOLO\n\n" + WHERE,
    ),
    ("code", SETUP),
    (
        "code",
        """\
tables = read_export(client.export(project_id, format="ndjson", include_metadata=True))
objects, tasks = tables.objects, tables.tasks
objects["tool"].value_counts()""",
    ),
    (
        "md",
        "## Boxes as normalised xyxy\n\nFractions of the asset's width and height "
        "(`metadata_width` / `metadata_height` of the tasks table); an asset of unknown size "
        "gets NaN, never a guess.",
    ),
    (
        "code",
        """\
boxes = objects.ango.boxes(tasks, format="xyxy", normalized=True)
boxes.head()""",
    ),
    ("code", 'boxes[["x1", "y1", "x2", "y2"]].describe().round(3)'),
    (
        "md",
        "## Train / validation split by asset\n\nDecided per `task_id` by a seeded hash: no "
        "asset ends up on both sides, every frame of a video stays together, and the split is "
        "the same on every run.",
    ),
    (
        "code",
        """\
objects = objects.assign(split=objects.ango.split(validation=0.2, seed=0))
sides = objects.groupby("split")["task_id"].nunique().rename("assets")
assert objects.groupby("task_id")["split"].nunique().max() == 1  # no asset straddles
pd.concat([sides, objects["split"].value_counts().rename("objects")], axis=1)""",
    ),
    ("code", "objects.ango.class_index()  # the same class ids in every file below"),
    (
        "md",
        "## COCO and YOLO files\n\nWritten to a temporary folder; any fsspec URL works as "
        "well (`s3://...`, `gs://...`).",
    ),
    (
        "code",
        """\
import json
import tempfile
from pathlib import Path

out = Path(tempfile.mkdtemp(prefix="ango-training-"))
classes = list(objects.ango.class_index())
for side in ("train", "validation"):
    part = objects[objects["split"] == side]
    part.ango.to_coco(tasks, str(out / f"coco_{side}.json"), classes=classes)
    part.ango.to_yolo(tasks, str(out / "yolo" / side), classes=classes)
sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())[:8]""",
    ),
    (
        "code",
        """\
coco = json.loads((out / "coco_train.json").read_text())
print({k: len(v) for k, v in coco.items()})
print(coco["categories"])
print(coco["images"][0])
print(coco["annotations"][0])""",
    ),
    (
        "code",
        """\
# one file per image (frames of a video are images too): `class cx cy width height`
labels = sorted(p for p in (out / "yolo" / "train").glob("img-*.txt"))
print(f"{len(labels)} image label files; {labels[0].name}:")
print(labels[0].read_text())""",
    ),
    ("md", "## Clean up"),
    (
        "code",
        """\
import shutil

shutil.rmtree(out)
"""
        + TEARDOWN,
    ),
]

PRELABELS = [
    (
        "md",
        "# Model predictions as pre-labels\n\n"
        "Predictions as a DataFrame, validated row by row, planned with a dry run, imported in "
        "chunks, and checked in a re-export.\n\n"
        + WHERE
        + " **On a real project this notebook imports pre-labels** onto up to `LIMIT` assets "
        "that have no labels yet.",
    ),
    ("code", SETUP),
    (
        "code",
        """\
LIMIT = 40  # assets to predict on
project = client.get_project(project_id)  # its ontology resolves class titles
box_classes = [
    t["title"] for t in project["categorySchema"]["tools"] if t["tool"] == "bounding-box"
]
before = read_export(client.export(project_id, format="ndjson", include_metadata=True))
print(box_classes, before)""",
    ),
    (
        "md",
        "## Predictions\n\nA stand-in for a model: two boxes with a score on each image asset "
        "that has no labels yet. One row per box, pixels, top-left `x, y, width, height`.",
    ),
    (
        "code",
        """\
import numpy as np

tasks = before.tasks
unlabelled = tasks[~tasks["task_id"].isin(before.objects["task_id"])]
if "metadata_width" in tasks:  # images only: they have a width and height
    unlabelled = unlabelled[unlabelled["metadata_width"].notna()]
unlabelled = unlabelled.head(LIMIT)
rng = np.random.default_rng(0)
rows = []
for asset in unlabelled.itertuples():
    w = float(getattr(asset, "metadata_width", 640) or 640)
    h = float(getattr(asset, "metadata_height", 480) or 480)
    for title in box_classes[:2]:
        rows.append(
            {
                "external_id": asset.external_id,
                "title": title,
                "x": rng.uniform(0, w / 2),
                "y": rng.uniform(0, h / 2),
                "width": w / rng.integers(4, 8),
                "height": h / rng.integers(4, 8),
                "score": rng.uniform(0.5, 1.0),
            }
        )
predictions = pd.DataFrame(rows)
predictions.head()""",
    ),
    (
        "md",
        "## Validation finds every bad row at once\n\nA real model output has a NaN width and "
        "an unknown class somewhere. Nothing is sent: the error lists each problem with its "
        "row, column and reason.",
    ),
    (
        "code",
        """\
from ango_frames.errors import PayloadError

bad = predictions.copy()
bad.loc[1, "width"] = np.nan
bad.loc[2, "title"] = "truck"
try:
    bad.ango.to_labels(project_id, ontology=project)
except PayloadError as err:
    failures = err.failure_cases
failures""",
    ),
    (
        "code",
        """\
fixed = bad.copy()
fixed.loc[fixed["width"].isna(), "width"] = fixed["width"].median()
fixed.loc[fixed["title"] == "truck", "title"] = box_classes[0]
remaining = fixed.ango.validate(ontology=project)
print(f"{len(remaining)} problem(s) left")
predictions = fixed""",
    ),
    (
        "md",
        "## Dry run: the chunk plan\n\nOne label per asset; at most `chunk_rows` labels per "
        "request, each with an idempotency key so retries never apply a chunk twice.",
    ),
    (
        "code",
        """\
plan = predictions.ango.import_labels(
    client, project_id, ontology=project, dry_run=True, chunk_rows=10
)
print(plan.summary())
plan.plan[["chunk", "items", "bytes", "first", "last"]]""",
    ),
    ("md", "## Import"),
    (
        "code",
        """\
results = predictions.ango.import_labels(client, project_id, ontology=project, chunk_rows=10)
print(results["status"].value_counts().to_dict())
results[["key", "chunk", "status", "n_objects", "score_min", "score_max"]].head()""",
    ),
    (
        "md",
        "## The re-export shows the predictions arrived\n\nScores are not sent (the hub has no "
        "field for them); they stay in the results table.",
    ),
    (
        "code",
        """\
after = read_export(client.export(project_id, format="ndjson"))
arrived = after.objects.merge(after.tasks[["task_id", "external_id"]], on="task_id")
arrived = arrived[arrived["external_id"].isin(predictions["external_id"])]
check = pd.concat(
    [
        predictions.groupby("external_id").size().rename("predicted"),
        arrived.groupby("external_id").size().rename("in export"),
    ],
    axis=1,
)
print(f"{len(before.objects)} objects before, {len(after.objects)} after")
assert check["predicted"].eq(check["in export"]).all()
check.head()""",
    ),
    ("md", "## Clean up"),
    ("code", TEARDOWN),
]

NOTEBOOKS = {
    "01_export_and_analyse.ipynb": EXPORT_AND_ANALYSE,
    "02_training_data.ipynb": TRAINING_DATA,
    "03_prelabels.ipynb": PRELABELS,
    "04_look_and_masks.ipynb": LOOK_AND_MASKS,
}


def main(prefixes: list[str]) -> None:
    for name, cells in NOTEBOOKS.items():
        if prefixes and not name.startswith(tuple(prefixes)):
            continue
        nb = build_executed(name, cells)
        (HERE / name).write_text(nb, encoding="utf-8")
        print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1:])
