"""The ``ango-frames`` command line: export, import-labels, import-attachments, annotate,
serve-local, demo.

User errors (bad arguments, a refused request, invalid rows) print one clear line on stderr and
exit with status 2 (1 for an import that went only part of the way); there is no traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from ango_frames.errors import AngoError, ConfigError, ImportIncomplete, PayloadError

__all__ = ["build_parser", "main"]


def _when(text: str) -> dt.datetime:
    """An ISO 8601 time with a zone (``Z`` accepted); a bare date means midnight UTC."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        if len(text) == 10:  # a date
            return value.replace(tzinfo=dt.timezone.utc)
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add Z or +HH:MM")
    return value


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("connection")
    g.add_argument("--api-key", help="api key (default: the ANGO_API_KEY environment variable)")
    g.add_argument("--region", default="eu", choices=["eu", "us", "in", "test"])
    g.add_argument("--base-url", help="API base URL, overrides --region (e.g. a local hub)")
    g.add_argument("--allow-insecure-http", action="store_true", help=argparse.SUPPRESS)


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="build and validate, send nothing")
    p.add_argument(
        "--journal", help="resume journal file: a re-run sends only unacknowledged chunks"
    )
    p.add_argument("--chunk-rows", type=int, default=500, help="labels per request (default 500)")
    p.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    p.add_argument("--results", help="write the per-asset results to this CSV or Parquet file")
    p.add_argument("--no-progress", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ango-frames``."""
    parser = argparse.ArgumentParser(
        prog="ango-frames",
        description="Ango Hub exports as tidy tables; DataFrames back as pre-labels.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("export", help="export a project to Parquet, CSV or ndjson tables")
    p.add_argument("project", help="project id")
    p.add_argument("dest", help="destination folder (local path or fsspec URL)")
    p.add_argument("--to", choices=["parquet", "csv", "ndjson"], default="parquet")
    p.add_argument(
        "--format",
        choices=["json", "ndjson", "split"],
        default="ndjson",
        help="export file format requested from the hub (default ndjson)",
    )
    p.add_argument("--type", choices=["task", "issue"], default="task")
    p.add_argument("--stage", action="append", help="stage id or name; repeatable")
    p.add_argument("--batch", action="append", dest="batches", help="batch; repeatable")
    p.add_argument("--include-metadata", action="store_true")
    p.add_argument("--include-history", action="store_true")
    p.add_argument("--include-only-key-frames", action="store_true")
    p.add_argument("--include-idle-blur-durations", action="store_true")
    p.add_argument("--send-email", action="store_true")
    p.add_argument("--notify", action="store_true")
    p.add_argument("--updated-after", type=_when)
    p.add_argument("--updated-before", type=_when)
    p.add_argument("--created-after", type=_when)
    p.add_argument("--created-before", type=_when)
    p.add_argument("--filters", type=_json_object, help="Mongo-style task filter, as JSON")
    p.add_argument("--partition-by", choices=["stage", "batch"])
    p.add_argument("--keep-zip", help="also keep the downloaded export zip at this path")
    p.add_argument("--no-progress", action="store_true")
    _connection_args(p)

    p = sub.add_parser("import-labels", help="import pre-labels from a Parquet or CSV file")
    p.add_argument("project")
    p.add_argument("file", help="predictions table (.parquet, .csv); see the README's conventions")
    p.add_argument("--box-format", choices=["xywh", "xyxy", "cxcywh"], default="xywh")
    p.add_argument(
        "--normalized", action="store_true", help="coordinates are fractions of the asset size"
    )
    _import_args(p)
    _connection_args(p)

    p = sub.add_parser(
        "import-attachments", help="attach URLs to assets from a Parquet or CSV file"
    )
    p.add_argument("project")
    p.add_argument("file")
    _import_args(p)
    _connection_args(p)

    p = sub.add_parser("annotate", help="submit answers per task from a Parquet or CSV file")
    p.add_argument("file", help="a table with a task_id column and objects / answers")
    p.add_argument("--project", help="project id (to resolve titles through its ontology)")
    p.add_argument("--is-plugin", action="store_true")
    _import_args(p)
    _connection_args(p)

    p = sub.add_parser("serve-local", help="run the local Ango Hub with the demo project")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--api-key", help="fix the api key (default: a random one, printed)")
    p.add_argument("--empty", action="store_true", help="start without the demo project")

    p = sub.add_parser("demo", help="export the local demo project, summarise it, push pre-labels")
    p.add_argument(
        "--out", default="ango-frames-demo", help="output folder (default ./ango-frames-demo)"
    )
    return parser


def _client(args: argparse.Namespace) -> Any:
    from ango_frames.api.client import Client

    return Client(
        api_key=args.api_key,
        region=args.region,
        base_url=args.base_url,
        allow_insecure_http=args.allow_insecure_http,
    )


def _read_table(path: str) -> Any:
    import pandas as pd

    if path.endswith((".parquet", ".pq")) or not path.endswith((".csv", ".tsv")):
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            if path.endswith((".parquet", ".pq")):
                raise ConfigError(f"cannot read {path} as Parquet: {exc}") from exc
    return pd.read_csv(path, sep="\t" if path.endswith(".tsv") else ",")


def _cmd_export(args: argparse.Namespace) -> int:
    from ango_frames.export.table_files import write_tables

    client = _client(args)
    export = client.export(
        args.project,
        format=args.format,
        type=args.type,
        stage=args.stage,
        batches=args.batches,
        send_email=args.send_email,
        notify=args.notify,
        include_metadata=args.include_metadata,
        include_history=args.include_history,
        include_only_key_frames=args.include_only_key_frames,
        include_idle_blur_durations=args.include_idle_blur_durations,
        updated_at=(args.updated_after, args.updated_before),
        created_at=(args.created_after, args.created_before),
        filters=args.filters,
        dest=args.keep_zip,
    )
    written = write_tables(
        export, args.dest, to=args.to, partition_by=args.partition_by, progress=not args.no_progress
    )
    for table, rows in written.items():
        print(f"{table:24s} {rows:>10,d} rows")
    print(f"wrote {args.to} tables to {args.dest}")
    return 0


def _finish_import(result: Any, args: argparse.Namespace) -> int:
    from ango_frames.imports.send import DryRun

    if isinstance(result, DryRun):
        print(result.summary())
        return 0
    if args.results:
        (result.to_parquet if args.results.endswith(".parquet") else result.to_csv)(args.results)
    counts = result["status"].value_counts().to_dict()
    print("import finished: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from ango_frames.imports import send as importer

    table = _read_table(args.file)
    common = dict(
        dry_run=args.dry_run,
        journal=args.journal,
        chunk_rows=args.chunk_rows,
        on_error=args.on_error,
        progress=not args.no_progress,
    )
    client = _client(args)
    try:
        if args.command == "import-labels":
            result = importer.import_labels(
                client,
                args.project,
                table,
                box_format=args.box_format,
                normalized=args.normalized,
                **common,
            )
        elif args.command == "import-attachments":
            result = importer.import_attachments(client, args.project, table, **common)
        else:
            result = importer.annotate(
                client, table, project=args.project, is_plugin=args.is_plugin, **common
            )
    except ImportIncomplete as exc:
        if args.results:
            exc.results.to_csv(args.results)
        print(f"ango-frames: {exc}", file=sys.stderr)
        return 1
    return _finish_import(result, args)


def _cmd_serve(args: argparse.Namespace) -> int:
    from ango_frames.testing import serve

    serve(port=args.port, api_key=args.api_key, demo=not args.empty)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ango_frames.demo import run_demo

    run_demo(args.out)
    return 0


_COMMANDS = {
    "export": _cmd_export,
    "import-labels": _cmd_import,
    "import-attachments": _cmd_import,
    "annotate": _cmd_import,
    "serve-local": _cmd_serve,
    "demo": _cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ango-frames``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING)
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("ango-frames: interrupted", file=sys.stderr)
        return 130
    except PayloadError as exc:
        if args.debug:
            raise
        print(f"ango-frames: {exc}", file=sys.stderr)
        return 2
    except (AngoError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        if args.debug:
            raise
        print(f"ango-frames: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
