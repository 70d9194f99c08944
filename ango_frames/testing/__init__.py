"""The local Ango Hub: a real HTTP server on 127.0.0.1 that speaks the Ango Hub API.

For tests, notebooks, the demo and for testing your own pipelines offline::

    from ango_frames.testing import LocalHub

    with LocalHub() as hub:
        hub.url         # "http://127.0.0.1:PORT/v2"
        hub.api_key     # send it in the `apikey` header
        hub.project_id  # the deterministic demo project
        hub.faults.add("import_labels", "503")  # make the next import fail
"""

from __future__ import annotations

from ango_frames.testing.faults import FaultPlan
from ango_frames.testing.hub import LocalHub, serve

__all__ = ["FaultPlan", "LocalHub", "serve"]
