"""Security: the api key never leaks, plain http is refused, hostile zips are refused, no eval.

The key is searched for, as text and as bytes, in everything a run leaves behind: log records at
DEBUG (every logger), reprs, every typed error the fault matrix raises (message, repr, traceback),
journals, progress output, Parquet files and their key-value metadata.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import threading
import traceback
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import ango_frames
from ango_frames import errors
from ango_frames.api.client import Client
from ango_frames.api.transport import RetryPolicy, Transport
from ango_frames.export.parquet import export_to_parquet
from ango_frames.export.records import ReadLimits, iter_records
from ango_frames.export.tables import read_export
from ango_frames.imports.send import import_attachments, import_labels
from ango_frames.testing import LocalHub

KEY = "sk-live-SECRET-4f9c2e7a1b"  # distinctive: a hit is a leak, not a coincidence
RETRY = RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_max=0.002)
ONTOLOGY = {"tools": [{"tool": "bounding-box", "title": "car", "schemaId": "car-1"}]}


@pytest.fixture
def hub():
    with LocalHub(api_key=KEY) as h:
        yield h


def _client(hub: LocalHub, **kw) -> Client:
    kw.setdefault("retry", RETRY)
    kw.setdefault("timeout", (2, 10))  # a loaded machine must not turn into a spurious retry
    return Client(base_url=hub.url, api_key=KEY, rate_limit=None, **kw)


def _no_key(text: str | bytes, where: str) -> None:
    needle: str | bytes = KEY if isinstance(text, str) else KEY.encode()
    assert needle not in text, f"the api key leaked into {where}"


def _boxes(hub: LocalHub, n: int = 20) -> pd.DataFrame:
    assets = list(hub.project().assets.values())[:n]
    return pd.DataFrame(
        {
            "asset_id": [a.id for a in assets],
            "title": "car",
            "x": 1.0,
            "y": 2.0,
            "width": 3.0,
            "height": 4.0,
        }
    )


# ------------------------------------------------------------------------------ the key


def test_key_not_in_logs_progress_journal_reprs_or_parquet(hub, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)  # every logger: ango_frames, urllib3, requests, ...
    client = _client(hub, retry=RetryPolicy(max_attempts=4, backoff_base=0.001))
    hub.faults.add("export", "503")  # retries and their log lines
    hub.faults.add("download", "expire")
    export = client.export(hub.project_id, format="ndjson", dest=str(tmp_path / "e.zip"))
    out = export_to_parquet(export, tmp_path / "pq", progress=True)
    hub.faults.add("import_labels", "drop_after")
    hub.faults.add("import_labels", "429", retry_after=0.01)
    journal = tmp_path / "labels.journal"
    ontology = client.get_project(hub.project_id)
    results = import_labels(
        client, hub.project_id, _boxes(hub), ontology=ontology, chunk_rows=5,
        journal=journal, progress=True,
    )  # fmt: skip
    dry = import_labels(client, hub.project_id, _boxes(hub), ontology=ontology, dry_run=True)
    attach = import_attachments(
        client, hub.project_id,
        pd.DataFrame({"asset_id": [results["key"][0]], "url": ["https://x.example.org/a.pdf"]}),
        progress=True,
    )  # fmt: skip
    assert results["sent"].all() and len(hub.exports) == 2 and hub.replays == 1
    text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "retry" in text  # the run did log its retries
    _no_key(text, "the logs")
    captured = capsys.readouterr()
    assert "import labels" in captured.err  # the progress bars did draw
    _no_key(captured.out + captured.err, "progress output")
    _no_key(journal.read_bytes(), "the journal")
    for obj in (client, client.transport, export, dry, results, attach, hub):
        _no_key(repr(obj), f"repr({type(obj).__name__})")
        _no_key(str(obj), f"str({type(obj).__name__})")
    _no_key(results.to_string() + attach.to_string() + dry.plan.to_string(), "result frames")
    _no_key(json.dumps(export.provenance(), default=str), "ExportFile.provenance()")
    files = [p for p in Path(tmp_path / "pq").rglob("*") if p.is_file()]
    assert files and set(out) <= {p.parent.name for p in files} | {
        p.parent.parent.name for p in files
    }
    for path in files:
        _no_key(path.read_bytes(), f"the bytes of {path.name}")
        meta = pq.read_metadata(path).metadata or {}
        assert meta  # the provenance is there ...
        for k, v in meta.items():
            _no_key(k + v, f"the key-value metadata of {path.name}")  # ... without the key


def test_key_not_in_the_public_state_of_a_client(hub):
    client = _client(hub)
    _no_key(repr(vars(client)), "vars(client)")
    transport = Transport(api_key=KEY)
    # only the apikey header of each API request holds it, never the session's defaults, which
    # would also go to download links
    _no_key(repr(transport) + str(dict(transport.session.headers)), "the session's headers")


def _failures(hub: LocalHub, tmp_path: Path) -> Iterator[BaseException]:
    """One of every typed error the fault matrix ends in, raised for real against the hub."""
    client = _client(hub, timeout=(2, 0.2))  # short: the stall case must time out
    patient = _client(hub)  # building an export can take longer than 0.2 s on a busy machine
    asset = next(iter(hub.project().assets.values()))
    label = [{"assetId": asset.id, "answer": {"objects": []}}]
    cases = [
        ("project", "429", {}, lambda: client.get_project(hub.project_id)),
        ("project", "503", {}, lambda: client.get_project(hub.project_id)),
        ("import_labels", "drop_before", {}, lambda: client.import_labels_request(
            hub.project_id, label, idempotency_key="k1")),
        ("annotate", "stall", {"seconds": 0.5}, lambda: client.annotate_request(
            asset.task.id, {"objects": []}, idempotency_key="k2")),
        ("download", "truncate", {}, lambda: patient.export(hub.project_id)),
        ("download", "corrupt", {}, lambda: patient.export(hub.project_id)),
        ("download", "expire", {}, lambda: patient.export(hub.project_id)),
        ("import_labels", "500", {}, lambda: import_labels(
            client, hub.project_id, _boxes(hub, 3), ontology=ONTOLOGY | {"tools": [
                {"tool": "bounding-box", "title": "car", "schemaId": "car-1"}]},
            journal=tmp_path / "j")),
    ]  # fmt: skip
    for endpoint, kind, opts, call in cases:
        hub.faults.clear()
        hub.faults.add(endpoint, kind, count=None, **opts)
        try:
            call()
        except errors.AngoError as exc:
            yield exc
        else:
            raise AssertionError(f"{endpoint} {kind} did not fail")
    hub.faults.clear()
    bad = Client(base_url=hub.url, api_key=KEY + "-wrong", rate_limit=None)
    for call in (
        lambda: bad.get_project(hub.project_id),
        lambda: client.post("import/labels", {"project": hub.project_id}),  # 400
        lambda: client.get_project("no-such-project"),  # 404
        lambda: import_labels(client, hub.project_id, _boxes(hub).assign(x=float("nan"))),
        lambda: Client(base_url="http://files.example.org/v2", api_key=KEY),
    ):
        try:
            call()
        except errors.AngoError as exc:
            yield exc
        else:
            raise AssertionError("no error")


def test_key_not_in_any_typed_error(hub, tmp_path):
    seen = set()
    for exc in _failures(hub, tmp_path):
        seen.add(type(exc).__name__)
        chain = "".join(traceback.format_exception(exc))  # messages of the whole cause chain
        _no_key(str(exc) + repr(exc) + chain, f"a {type(exc).__name__}")
        _no_key(repr(exc.__reduce__()), f"the pickled state of a {type(exc).__name__}")
        results = getattr(exc, "results", None)
        if results is not None:
            _no_key(results.to_string(), "ImportIncomplete.results")
        cases = getattr(exc, "failure_cases", None)
        if cases is not None:
            _no_key(cases.to_string(), "PayloadError.failure_cases")
    assert seen >= {
        "RateLimited", "ServerError", "TransportError", "RequestTimeout", "ExportDownloadError",
        "ImportIncomplete", "AuthError", "BadRequest", "NotFound", "PayloadError", "ConfigError",
    }  # fmt: skip


def test_a_hub_echoing_the_key_in_its_error_message_is_scrubbed():
    server = _server({"/v2/project/p": (500, {"status": "error", "message": f"bad key {KEY}"})})
    client = Client(base_url=server.url, api_key=KEY, retry=RETRY, rate_limit=None)
    with pytest.raises(errors.ServerError) as info:
        client.get_project("p")
    assert "***" in info.value.message
    _no_key(str(info.value) + repr(info.value.__reduce__()), "an echoed error message")


# ------------------------------------------------------------------------------ plain http


class _Canned(ThreadingHTTPServer):
    def __init__(self, answers: dict[str, tuple[int, dict]]) -> None:
        super().__init__(("127.0.0.1", 0), _CannedHandler)
        self.answers = answers
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v2"


class _CannedHandler(BaseHTTPRequestHandler):
    server: _Canned

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.server.paths.append(path)
        status, body = self.server.answers.get(path, (404, {"status": "fail", "message": "no"}))
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


_SERVERS: list[_Canned] = []


def _server(answers: dict[str, tuple[int, dict]]) -> _Canned:
    server = _Canned(answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _SERVERS.append(server)
    return server


@pytest.fixture(autouse=True)
def _stop_servers():
    yield
    while _SERVERS:
        server = _SERVERS.pop()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "url",
    ["http://imeritapi.ango.ai/v2", "http://10.0.0.7/v2", "http://127.0.0.1.example.org/v2",
     "ftp://127.0.0.1/v2", "file:///etc/passwd"],
)  # fmt: skip
def test_plain_http_to_a_non_loopback_base_url_is_refused(url):
    with pytest.raises(errors.ConfigError):
        Client(base_url=url, api_key=KEY)


def test_plain_http_is_allowed_on_loopback_or_when_asked():
    for url in ("http://127.0.0.1:9/v2", "http://localhost:9/v2", "http://[::1]:9/v2"):
        Client(base_url=url, api_key=KEY)
    client = Client(base_url="http://10.0.0.7/v2", api_key=KEY, allow_insecure_http=True)
    assert client.allow_insecure_http


@pytest.mark.parametrize(
    "path",
    ["http://files.example.org/export.zip?X-Amz-Signature=abc", "ftp://files.example.org/e.zip",
     "file:///etc/passwd", "", 42],
)  # fmt: skip
def test_an_export_path_that_is_not_https_or_loopback_is_refused(path):
    server = _server({"/v2/export": (200, {"status": "success", "data": {"exportPath": path}})})
    client = Client(base_url=server.url, api_key=KEY, retry=RETRY, rate_limit=None)
    with pytest.raises((errors.ConfigError, errors.ExportDownloadError)) as info:
        client.export("p")
    assert server.paths == ["/v2/export"]  # nothing fetched from the link
    _no_key(str(info.value), "the refusal")
    assert "X-Amz-Signature" not in str(info.value)  # nor the link's signature


# ------------------------------------------------------------------------------ hostile zips


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


RECORD = b'[{"externalId": "a.jpg", "task": {"taskId": "t1", "tools": []}}]'


@pytest.mark.parametrize(
    "name",
    ["/etc/export.json", "../export.json", "data/../../export.json", "C:/export.json",
     "..\\export.json", "\\\\server\\share\\export.json", "a/b/../../../x.json"],
)  # fmt: skip
def test_zip_members_with_absolute_paths_or_dotdot_are_refused(name, tmp_path):
    path = tmp_path / "hostile.zip"
    path.write_bytes(_zip({"ok.json": RECORD, name: RECORD}))
    for read in (lambda: list(iter_records(path)), lambda: read_export(path)):
        with pytest.raises(errors.ExportFormatError, match="unsafe member name"):
            read()
    assert not (tmp_path.parent / "export.json").exists()


def test_a_zip_bomb_is_stopped_by_the_ratio_guard(tmp_path):
    # 64 MiB of one repeated record compresses about 1000:1
    bomb = b"[" + b",".join([b'{"externalId": "a", "pad": "' + b"0" * 4000 + b'"}'] * 16000) + b"]"
    path = tmp_path / "bomb.zip"
    path.write_bytes(_zip({"export.json": bomb}))
    assert path.stat().st_size * 200 < len(bomb)
    with pytest.raises(errors.ExportFormatError, match=r"max_ratio|zip bomb"):
        list(iter_records(path))


def test_decompressed_size_is_bounded_even_when_the_header_lies(tmp_path):
    data = b"[" + b",".join([RECORD[1:-1]] * 2000) + b"]"
    raw = bytearray(_zip({"export.json": data}, zipfile.ZIP_STORED))
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(raw))
    limits = ReadLimits(max_member_bytes=10_000)
    with pytest.raises(errors.ExportFormatError, match="max_member_bytes"):
        list(iter_records(path, limits=limits))
    # the headers claim 100 bytes: the streamed count (or the CRC) still catches it
    size = len(data).to_bytes(4, "little")
    raw = raw.replace(size, (100).to_bytes(4, "little"))
    path.write_bytes(bytes(raw))
    with pytest.raises((errors.ExportFormatError, errors.ExportDownloadError)):
        list(iter_records(path, limits=limits))


def test_too_many_members_are_refused(tmp_path):
    path = tmp_path / "many.zip"
    path.write_bytes(_zip({f"part-{i}.json": RECORD for i in range(30)}))
    with pytest.raises(errors.ExportFormatError, match="max_members"):
        list(iter_records(path, limits=ReadLimits(max_members=10)))


# ------------------------------------------------------------------------------ no code is run

_PACKAGE = Path(ango_frames.__file__).parent
_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint"}
_FORBIDDEN_ATTRS = {
    ("pickle", "loads"), ("pickle", "load"), ("marshal", "loads"), ("marshal", "load"),
    ("yaml", "load"), ("yaml", "unsafe_load"), ("os", "system"), ("os", "popen"),
    ("shelve", "open"), ("pd", "read_pickle"), ("pandas", "read_pickle"),
    ("subprocess", "run"), ("subprocess", "Popen"), ("subprocess", "call"),
}  # fmt: skip


def _literal_first_arg(call: ast.Call) -> bool:
    return bool(call.args) and isinstance(call.args[0], ast.Constant)


def test_the_package_source_evaluates_nothing():
    hits = []
    for path in sorted(_PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = {a.name.split(".")[0] for a in node.names}
                names.add((getattr(node, "module", None) or "").split(".")[0])
                if names & {"pickle", "marshal", "shelve", "yaml", "subprocess", "dill"}:
                    hits.append(f"{path.name}:{node.lineno} imports {sorted(names)}")
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in _FORBIDDEN_CALLS:
                hits.append(f"{path.name}:{node.lineno} calls {func.id}")
            if isinstance(func, ast.Attribute):
                owner = func.value.id if isinstance(func.value, ast.Name) else ""
                if (owner, func.attr) in _FORBIDDEN_ATTRS or (
                    # DataFrame.eval / .query run their expression: only a literal one is safe
                    func.attr in {"eval", "query"} and not _literal_first_arg(node)
                ):
                    hits.append(f"{path.name}:{node.lineno} calls {owner}.{func.attr}")
    assert len(list(_PACKAGE.rglob("*.py"))) > 20  # the walk did see the package
    assert hits == []


CODE = "__import__('os').system('touch PWNED')"


def test_code_in_an_export_stays_a_string(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    record = {
        "externalId": CODE,
        "metadata": {"note": CODE, CODE: 1},
        "task": {
            "taskId": "t1",
            "stage": CODE,
            "tools": [{"objectId": CODE, "schemaId": "s", "title": CODE,
                       "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4}}],
            "classifications": [{"schemaId": "c", "title": "q", "answer": CODE}],
        },
    }  # fmt: skip
    path = tmp_path / "export.json"
    path.write_bytes(json.dumps([record]).encode())
    tables = read_export(path)
    assert tables["tasks"]["external_id"].tolist() == [CODE]
    assert tables["tasks"]["stage"].tolist() == [CODE]
    assert tables["objects"]["object_id"].tolist() == [CODE]
    assert CODE in tables["classifications"].astype(str).to_numpy().ravel().tolist()
    out = export_to_parquet(path, tmp_path / "pq")
    assert out and not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_code_in_a_frame_goes_to_the_hub_as_a_string(hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    asset = next(iter(hub.project().assets.values()))
    frame = pd.DataFrame(
        {"asset_id": [asset.id], "schema_id": [CODE], "object_id": [CODE], "x": [1.0],
         "y": [1.0], "width": [2.0], "height": [2.0]}
    )  # fmt: skip
    import_labels(_client(hub), hub.project_id, frame)
    sent = hub.state.project(hub.project_id).assets[asset.id].task.answer["tools"]
    assert [o["objectId"] for o in sent] == [CODE] and sent[0]["schemaId"] == CODE
    assert not (tmp_path / "PWNED").exists()
