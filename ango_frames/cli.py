"""The ``ango-frames`` command line: export, import-labels, import-attachments, annotate,
serve-local, demo.

User errors (bad arguments, a refused request, invalid rows) print one clear line on stderr and
exit with status 2 (1 for an import that went only part of the way); there is no traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import Any

from ango_frames import __version__
from ango_frames.api.export_request import ExportRequest
from ango_frames.cli_common import (
    TIME_FORMAT,
    Parser,
    add_global_flags,
    fail,
    json_object,
    non_negative_int,
    positive_int,
    reporting,
    when,
)
from ango_frames.cli_imports import REPLACES, add_import_flags, finish_import, read_table
from ango_frames.errors import AngoError, ConfigError, ImportIncomplete, PayloadError

__all__ = ["build_parser", "main"]


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dry-run", action="store_true", help="build and validate, send nothing (default: off)"
    )
    p.add_argument(
        "--journal",
        metavar="FILE",
        help="resume journal: a re-run sends only the chunks not yet acknowledged "
        "(default: none, every run sends everything)",
    )
    p.add_argument(
        "--chunk-rows",
        type=positive_int,
        default=500,
        metavar="N",
        help="labels per request (default: %(default)s)",
    )
    p.add_argument(
        "--on-error",
        choices=["raise", "skip"],
        default="raise",
        help="invalid rows: raise = send nothing and print them; skip = send the valid rows "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--results",
        metavar="FILE",
        help="write the per-asset results to this .csv or .parquet file (default: none)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: off)")


#: A limit flag not given: the client's default applies (not a string: argparse would parse it).
_CLIENT_DEFAULT = object()
#: The export command's defaults where they differ from ExportRequest's.
_EXPORT_FLAG_DEFAULTS = {"format": "ndjson"}


def _add_export_request_flags(p: argparse.ArgumentParser) -> None:
    """One flag (two for a time range) per ``ExportRequest`` field, from the field's metadata."""
    for f in dataclasses.fields(ExportRequest):
        if not f.init:
            continue
        cli = f.metadata["cli"]
        flag = cli["flag"] or "--" + f.name.replace("_", "-")
        what, kind = cli["help"], cli["kind"]
        if kind == "choice":
            default = _EXPORT_FLAG_DEFAULTS.get(f.name, f.default)
            p.add_argument(flag, choices=list(cli["choices"]), default=default,
                           dest=f.name, help=f"{what} (default: %(default)s)")  # fmt: skip
        elif kind == "list":
            p.add_argument(flag, action="append", dest=f.name, metavar=cli["metavar"],
                           help=f"{what} (default: {cli['none']})")  # fmt: skip
        elif kind == "switch":
            p.add_argument(flag, action="store_true", dest=f.name, help=f"{what} (default: off)")
        elif kind == "range":
            for side in ("after", "before"):
                p.add_argument(
                    f"--{what}-{side}", type=when, metavar="TIME", dest=f"{what}_{side}",
                    help=f"only tasks {what} {side} TIME: {TIME_FORMAT} (default: no bound)",
                )  # fmt: skip
        else:  # json
            p.add_argument(flag, type=json_object, dest=f.name, metavar="JSON",
                           help=f"{what}, e.g. '{{\"externalId\": \"a.jpg\"}}' (default: none)")  # fmt: skip


def _export_request(args: argparse.Namespace) -> ExportRequest:
    """The ``ExportRequest`` the export command's flags describe."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(ExportRequest):
        if not f.init:
            continue
        if f.metadata["cli"]["kind"] == "range":
            what = f.metadata["cli"]["help"]
            values[f.name] = (getattr(args, f"{what}_after"), getattr(args, f"{what}_before"))
        else:
            values[f.name] = getattr(args, f.name)
    return ExportRequest(**values)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _limit(kind: Any) -> Any:
    """A limit flag's type: its value, with 0 meaning "no limit" (None)."""

    def parse(text: str) -> Any:
        return None if text.strip() == "0" else kind(text)

    return parse


#: The export download's limits: ``Client.export`` keyword -> (type, metavar, what, default).
_DOWNLOAD_LIMITS = {
    "max_download_bytes": (positive_int, "N", "size cap of the export download in bytes", "32 GiB"),
    "download_deadline": (
        _positive_seconds,
        "SECONDS",
        "seconds the whole export download may take",
        "4 hours",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ango-frames`` (help texts: see ``ango_frames.cli_common``)."""
    parser = Parser(
        prog="ango-frames",
        description="Ango Hub exports as tidy tables; DataFrames back as pre-labels.",
        epilog="Global flags (--debug, --api-key, --region, --base-url, --retries, --timeout, "
        "--rate-limit) go before or after the subcommand.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_global_flags(parser, connection=True, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("export", help="export a project to Parquet, CSV or ndjson tables")
    p.add_argument("project", help="project id")
    p.add_argument("dest", help="destination folder (local path or fsspec URL)")
    p.add_argument(
        "--to",
        choices=["parquet", "csv", "ndjson"],
        default="parquet",
        help="table file format written under DEST (default: %(default)s)",
    )
    _add_export_request_flags(p)
    for name, (kind, metavar, what, default) in _DOWNLOAD_LIMITS.items():
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=_limit(kind),
            default=_CLIENT_DEFAULT,
            metavar=metavar,
            help=f"{what}; 0 lifts it (default: {default})",
        )
    p.add_argument(
        "--partition-by",
        choices=["stage", "batch"],
        help="Parquet only: one Hive partition folder per stage or batch (default: none)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="Parquet only: replace the tables already in DEST, whole, once the new ones are "
        "written (default: off, a DEST holding tables is refused)",
    )
    p.add_argument(
        "--keep-zip",
        metavar="PATH",
        help="also keep the downloaded export zip at PATH (default: a temporary file)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: off)")
    add_global_flags(p, connection=True)

    p = sub.add_parser(
        "import-labels",
        help="import pre-labels from a Parquet or CSV file (replaces each asset's answer)",
        description=REPLACES,
    )
    p.add_argument("project", help="project id")
    p.add_argument("file", help="predictions table (.parquet, .csv); see the README's conventions")
    p.add_argument(
        "--box-format",
        choices=["xywh", "xyxy", "cxcywh"],
        default="xywh",
        help="box columns: x,y,width,height (top-left), x1,y1,x2,y2 or cx,cy,width,height "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--normalized",
        action="store_true",
        help="coordinates are fractions of the asset size, not pixels (default: off)",
    )
    add_import_flags(p, labels=True)
    _import_args(p)
    add_global_flags(p, connection=True)

    p = sub.add_parser(
        "import-attachments", help="attach URLs to assets from a Parquet or CSV file"
    )
    p.add_argument("project", help="project id")
    p.add_argument("file", help="attachments table (.parquet, .csv)")
    _import_args(p)
    add_global_flags(p, connection=True)

    p = sub.add_parser(
        "annotate",
        help="submit answers per task from a Parquet or CSV file (replaces each task's answer)",
        description="Each request REPLACES its task's current answer on the hub (nothing is "
        "merged). Use --dry-run to see what would be sent.",
    )
    p.add_argument("file", help="a table with a task_id column and objects / answers")
    p.add_argument(
        "--project",
        metavar="PROJECT",
        help="project id, to resolve class titles through its ontology (default: none; then "
        "rows need a schema_id column)",
    )
    p.add_argument("--is-plugin", action="store_true", help="submit as a plugin (default: off)")
    _import_args(p)
    add_global_flags(p, connection=True)

    p = sub.add_parser("serve-local", help="run the local Ango Hub with the demo project")
    p.add_argument(
        "--port",
        type=non_negative_int,
        default=0,
        help="port on 127.0.0.1; 0 = a free one (default: 0)",
    )
    p.add_argument(
        "--api-key",
        default=argparse.SUPPRESS,
        metavar="KEY",
        help="the api key the hub accepts (default: a random one, printed)",
    )
    p.add_argument(
        "--empty", action="store_true", help="start without the demo project (default: off)"
    )
    add_global_flags(p, connection=False)

    p = sub.add_parser("demo", help="export the local demo project, summarise it, push pre-labels")
    p.add_argument(
        "--out",
        default="ango-frames-demo",
        metavar="DIR",
        help="output folder (default: ./%(default)s)",
    )
    add_global_flags(p, connection=False)
    return parser


def _client(args: argparse.Namespace) -> Any:
    from ango_frames.api.client import Client
    from ango_frames.api.transport import RetryPolicy

    if not (args.api_key or os.environ.get("ANGO_API_KEY")):
        raise ConfigError("no api key: pass --api-key or set ANGO_API_KEY")
    return Client(
        api_key=args.api_key,
        region=args.region,
        base_url=args.base_url,
        timeout=args.timeout,
        retry=RetryPolicy(max_attempts=args.retries + 1),
        rate_limit=args.rate_limit,
        allow_insecure_http=args.allow_insecure_http,
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from ango_frames.export.table_files import write_tables

    client = _client(args)
    limits = {
        name: getattr(args, name)
        for name in _DOWNLOAD_LIMITS
        if getattr(args, name) is not _CLIENT_DEFAULT
    }
    export = client.export(args.project, _export_request(args), dest=args.keep_zip, **limits)
    with export:  # a temporary zip is deleted once the tables are written (--keep-zip stays)
        written = write_tables(
            export,
            args.dest,
            to=args.to,
            partition_by=args.partition_by,
            progress=not args.no_progress,
            overwrite=args.overwrite,
        )
    for table, rows in written.items():
        print(f"{table:24s} {rows:>10,d} rows")
    print(f"wrote {args.to} tables to {args.dest}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from ango_frames.imports import send as importer

    table = read_table(args.file)
    common = dict(
        dry_run=args.dry_run,
        journal=args.journal,
        chunk_rows=args.chunk_rows,
        on_error=args.on_error,
        progress=not args.no_progress,
    )
    client = _client(args)
    verify: dict[str, Any] = {"verify": True} if getattr(args, "verify", False) else {}
    try:
        if args.command == "import-labels":
            result = importer.import_labels(
                client,
                args.project,
                table,
                box_format=args.box_format,
                normalized=args.normalized,
                body=args.body,
                **verify,
                **common,
            )
        elif args.command == "import-attachments":
            result = importer.import_attachments(client, args.project, table, **common)
        else:
            result = importer.annotate(
                client, table, project=args.project, is_plugin=args.is_plugin, **common
            )
    except ImportIncomplete as exc:
        print(f"ango-frames: {exc}", file=sys.stderr)
        return finish_import(exc.results, args, incomplete=exc)
    return finish_import(result, args)


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
    with reporting(args.debug) as reporter:
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
            print(fail(exc, reporter), file=sys.stderr)
            return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
