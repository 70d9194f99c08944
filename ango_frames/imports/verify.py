"""Read-your-writes for label imports: export the chunk's assets back and compare.

After a chunk is answered, ``verify=True`` asks ``GET /export`` (the spec's endpoint, nothing
else) for just that chunk's assets, ``filters={"externalId": {"$in": [...]}}``, and checks that
every label arrived with its objects: each asset named by the label has a task, every sent
``objectId`` (or, for objects without one, as many objects of each class) is among its tools,
and every sent classification class and relation is there. Labels keyed by ``assetId`` cannot be
matched to the export's records reliably (records carry ``assetId`` only for some datasets): they
are checked when the record says its ``assetId``, else left unverified (``None``).

The export file is downloaded into a private temporary folder and removed at once.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["check_label", "verify_labels"]


def _records(client: Any, project: str, filters: dict[str, Any]) -> Iterable[dict[str, Any]]:
    # The one place imports/ reads an export: lazily, only when verify=True is asked for.
    from ango_frames.export.records import iter_records

    with tempfile.TemporaryDirectory(prefix="ango-verify-") as folder:
        dest = str(Path(folder) / "verify.zip")
        export = client.export(project, format="ndjson", filters=filters, dest=dest)
        try:
            records = list(iter_records(export))
        finally:
            close = getattr(export, "close", None)
            if callable(close):
                close()
    return records


def _answer_of(label: dict[str, Any]) -> dict[str, Any]:
    answer = label.get("answer")
    if isinstance(answer, dict):
        return answer
    return label  # an import-file item: objects / classifications / relations at the top


def check_label(label: dict[str, Any], records: list[dict[str, Any]]) -> str | None:
    """None when every record holds the label's objects, answers and relations; else why not."""
    if not records:
        return "no task with this key in the export (the asset did not match)"
    answer = _answer_of(label)
    sent = [o for o in answer.get("objects") or [] if isinstance(o, dict)]
    ids = {o["objectId"] for o in sent if o.get("objectId") is not None}
    anonymous = Counter(o.get("schemaId") for o in sent if o.get("objectId") is None)
    classes = {
        c.get("schemaId") for c in answer.get("classifications") or [] if isinstance(c, dict)
    }
    n_rel = len(answer.get("relations") or [])
    for record in records:
        got_task = record.get("task")
        task: dict = got_task if isinstance(got_task, dict) else {}
        tools = [t for t in task.get("tools") or [] if isinstance(t, dict)]
        missing = ids - {t.get("objectId") for t in tools}
        if missing:
            shown = ", ".join(sorted(map(str, missing))[:5])
            return f"{len(missing)} of {len(sent)} object(s) missing on the hub ({shown})"
        # a video track comes back once per key frame: count distinct ids per class
        have = Counter(t.get("schemaId") for t in tools if t.get("objectId") not in ids)
        short = {k: n for k, n in anonymous.items() if have[k] < n}
        if short:
            return f"objects of class(es) {sorted(map(str, short))} missing on the hub"
        got = {c.get("schemaId") for c in task.get("classifications") or [] if isinstance(c, dict)}
        if classes - got:
            return f"classification(s) {sorted(map(str, classes - got))} missing on the hub"
        if len(task.get("relations") or []) < n_rel:
            return f"{n_rel - len(task.get('relations') or [])} relation(s) missing on the hub"
    return None


def verify_labels(
    client: Any, project: str, labels: list[dict[str, Any]], keys: Sequence[tuple[str, str]]
) -> list[str | bool | None]:
    """Per label: ``True`` (arrived whole), a reason string (did not), or None (not checkable)."""
    external = sorted({value for field, value in keys if field == "externalId"})
    assets = sorted({value for field, value in keys if field == "assetId"})
    clauses = []
    if external:
        clauses.append({"externalId": {"$in": external}})
    if assets:
        clauses.append({"asset": {"$in": assets}})
    if not clauses:
        return [None] * len(labels)
    filters = clauses[0] if len(clauses) == 1 else {"$or": clauses}
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in _records(client, project, filters):
        if record.get("externalId") is not None:
            by_key.setdefault(("externalId", str(record["externalId"])), []).append(record)
        if record.get("assetId") is not None:
            by_key.setdefault(("assetId", str(record["assetId"])), []).append(record)
    out: list[str | bool | None] = []
    for label, key in zip(labels, keys, strict=True):
        if key[0] == "assetId" and key not in by_key:
            out.append(None)  # the export's records may not say their assetId
            continue
        problem = check_label(label, by_key.get(key, []))
        out.append(True if problem is None else problem)
    return out
