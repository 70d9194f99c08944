"""``LocalHub``: a real Ango Hub API server on 127.0.0.1, for tests, demos and offline work.

::

    from ango_frames.testing import LocalHub

    with LocalHub() as hub:                  # a free port, a random api key, the demo project
        hub.url, hub.api_key, hub.project_id

It speaks the four Import/Export operations of ``ango_frames/spec/openapi.json`` (validated
against that file) plus ``GET /project/{id}``, under ``/v2``, with the hub's envelopes and
errors, exports in the real v3 format behind "pre-signed" download links, idempotency keys and
fault injection (``hub.faults``).
"""

from __future__ import annotations

import secrets
import sys
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from ango_frames.errors import ConfigError
from ango_frames.testing import api
from ango_frames.testing.demo import demo_store
from ango_frames.testing.faults import FaultPlan
from ango_frames.testing.handler import HubHandler
from ango_frames.testing.pictures import render_picture
from ango_frames.testing.records import (
    DownloadRecord,
    ExportFiles,
    IdempotencyStore,
    RequestLog,
    RequestRecord,
)
from ango_frames.testing.store import Asset, Project, Store

__all__ = ["LocalHub", "serve"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a stalled request
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, fault tests) are normal; anything else is recorded."""
        exc = sys.exc_info()[1]
        if isinstance(exc, Exception) and not isinstance(exc, (ConnectionError, TimeoutError)):
            self.hub.errors.append(exc)  # type: ignore[attr-defined]


class LocalHub:
    """A local Ango Hub on a real socket.

    Parameters
    ----------
    api_key : str, optional
        The key clients must send in the ``apikey`` header; random when omitted.
    host, port : str, int
        Where to listen; ``127.0.0.1`` and a free port by default.
    demo : bool
        Load the deterministic demo project (``hub.project_id``); False gives an empty hub.
    seed : int
        Seed of the demo data and of every id the hub generates.
    split_size : int
        Assets per member of ``format=split`` exports (the demo gives four members at 100).
    max_body_bytes : int, optional
        Answer 413 to larger request bodies, to test that a client splits its imports.

    Attributes
    ----------
    state : Store
        Every project, asset and task (take ``state.lock`` for consistent multi-step reads).
    faults : FaultPlan
        Faults to inject into the next requests.
    exports : dict[str, bytes]
        Download token -> the zip bytes exactly as built.
    downloads : list[DownloadRecord]
        ``(token, had_api_key)`` per download request.
    requests : list[RequestRecord]
        ``(method, path, query, had_api_key)`` per request; never the key itself.
    replays : int
        Requests answered from the idempotency store without being applied again.
    errors : list[Exception]
        Unexpected exceptions inside the hub (each answered with a 500).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        demo: bool = True,
        seed: int = 0,
        split_size: int = 100,
        max_body_bytes: int | None = None,
    ) -> None:
        if api_key is not None and not api_key:
            raise ConfigError("api_key must be a non-empty string (or None for a random one)")
        # starts with a letter: a key starting with "-" would be read as a flag by a CLI
        self._api_key = api_key or "k" + secrets.token_urlsafe(24)
        self.host = host
        self._port = port
        self.split_size = split_size
        self.max_body_bytes = max_body_bytes
        self.project_id: str | None = None
        if demo:
            self.state, self.project_id = demo_store(seed)
        else:
            self.state = Store(seed)
        self.faults = FaultPlan()
        self.log = RequestLog()
        self.files = ExportFiles()
        self.idempotency = IdempotencyStore()
        self.errors: list[Exception] = []
        self._pictures: dict[str, bytes] = {}
        self._pictures_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------------------- lifecycle

    def start(self) -> LocalHub:
        """Start serving on a background thread; returns self. Starting twice is a no-op."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self._port), HubHandler)
        server.hub = self  # type: ignore[attr-defined]
        self._server = server
        self._port = server.server_address[1]
        self.state.asset_base = self.base_url
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"LocalHub:{self._port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; stalled requests are woken and abandoned."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # never the api key
        where = self.url if self._server is not None else "stopped"
        return f"LocalHub({where}, projects={len(self.state.projects)})"

    # ---------------------------------------------------------------------------- addresses

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def port(self) -> int:
        if self._server is None:
            raise ConfigError("the hub is not running; use `with LocalHub() as hub` or hub.start()")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (downloads live under it, outside ``/v2``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL, ``http://127.0.0.1:PORT/v2``: what a client takes as its host."""
        return f"{self.base_url}/v2"

    # ---------------------------------------------------------------------------- state helpers

    def project(self, project_id: str | None = None) -> Project:
        """A project (the demo project by default)."""
        return self.state.project(project_id or self._default_project())

    def add_project(self, name: str = "Local project", **kwargs: Any) -> str:
        """Create a project (see ``Store.add_project`` for ontology, stages, batches); its id."""
        return self.state.add_project(name, **kwargs).id

    def add_asset(self, project_id: str, external_id: str, **kwargs: Any) -> Asset:
        """Add an asset with its task (``Store.add_asset``); ``asset.task.id`` is the task id."""
        return self.state.add_asset(project_id, external_id, **kwargs)

    def counts(self, project_id: str | None = None) -> dict[str, int]:
        """``tasks``, ``objects`` (frame entries of a full export), ``answers``, ``relations``."""
        return api.project_counts(self.state, project_id or self._default_project())

    def applications(self, asset_or_external_id: str) -> int:
        """How many labels (imports and annotate calls) were applied to that asset / externalId."""
        return self.state.counted(asset_or_external_id)

    def attachments(self, asset_or_external_id: str) -> list[dict[str, Any]]:
        """The attachments stored on that asset, or on every asset with that externalId."""
        with self.state.lock:
            return [
                dict(att)
                for p in self.state.projects.values()
                for a in p.assets.values()
                if asset_or_external_id in (a.id, a.external_id)
                for att in a.attachments
            ]

    def picture(self, path: str) -> bytes | None:
        """The PNG served at ``path`` (``/assets/...``), rendered once; None if there is none."""
        with self._pictures_lock:
            cached = self._pictures.get(path)
        if cached is not None:
            return cached
        with self.state.lock:
            spec = self.state.pictures.get(path)
        if spec is None:
            return None
        data = render_picture(*spec)
        with self._pictures_lock:
            self._pictures[path] = data
        return data

    def _default_project(self) -> str:
        if self.project_id is None:
            raise ConfigError("this hub has no demo project; pass a project id")
        return self.project_id

    # ---------------------------------------------------------------------------- logs

    @property
    def requests(self) -> list[RequestRecord]:
        return self.log.requests

    @property
    def downloads(self) -> list[DownloadRecord]:
        return self.log.downloads

    @property
    def exports(self) -> dict[str, bytes]:
        return self.files.files

    @property
    def replays(self) -> int:
        return self.idempotency.replays

    def sleep(self, seconds: float) -> bool:
        """Sleep, waking early when the hub stops; True if it stopped."""
        return self._stopping.wait(max(0.0, seconds))


def serve(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    api_key: str | None = None,
    demo: bool = True,
    seed: int = 0,
    on_ready: Callable[[LocalHub], None] | None = None,
) -> None:
    """Run a LocalHub in the foreground until interrupted (``ango-frames serve-local``).

    ``on_ready(hub)`` is called once it listens; by default it prints the URL, the demo project id
    and the api key to use (a throwaway key for this local process, like a notebook token).
    """
    hub = LocalHub(api_key=api_key, host=host, port=port, demo=demo, seed=seed).start()
    try:
        if on_ready is None:
            print(f"Local Ango Hub at {hub.url}")
            if hub.project_id:
                print(f"  demo project: {hub.project_id}")
            print(f"  api key:      {hub.api_key}")
            print("Press Ctrl+C to stop.", flush=True)
        else:
            on_ready(hub)
        while not hub._stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
