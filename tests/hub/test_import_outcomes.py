"""What an import did: replies read, unmatched assets, read-your-writes, keys per run, journals."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from ango_frames.api.client import Client
from ango_frames.api.transport import RetryPolicy
from ango_frames.errors import ConfigError, ImportIncomplete
from ango_frames.imports.journal import Journal
from ango_frames.imports.send import import_attachments, import_labels
from ango_frames.testing import LocalHub

ONTOLOGY = {"tools": [{"tool": "bounding-box", "title": "car", "schemaId": "car-1"}]}


@pytest.fixture
def local():
    with LocalHub(demo=False) as hub:
        pid = hub.add_project("outcomes", ontology=ONTOLOGY)
        for name in ("img-0001.jpg", "img-0002.jpg", "img-0003.jpg"):
            hub.add_asset(pid, name)
        with Client(hub.api_key, base_url=hub.url, rate_limit=None,
                    retry=RetryPolicy(max_attempts=1)) as client:  # fmt: skip
            yield hub, pid, client


def boxes(names: list[str], x: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"external_id": names, "schema_id": "car-1", "x": x, "y": 2.0, "width": 3.0, "height": 4.0}
    )


def _answer_x(hub: LocalHub, pid: str, name: str) -> list[float]:
    with hub.state.lock:
        for asset in hub.state.project(pid).assets.values():
            if asset.external_id == name:
                return [t["bounding-box"]["x"] for t in asset.task.answer["tools"]]
    raise KeyError(name)


def test_a_label_whose_asset_did_not_match_is_unmatched_not_sent(local, tmp_path):
    _hub, pid, client = local
    journal = tmp_path / "j.jsonl"
    with pytest.raises(ImportIncomplete) as err:
        import_labels(client, pid, boxes(["0001.jpg", "img-0002.jpg"]), chunk_rows=1,
                      journal=journal)  # fmt: skip
    res = err.value.results
    assert list(res["status"]) == ["unmatched", "sent"]
    assert list(res["sent"]) == [False, True]
    assert "unmatched: 0001.jpg" in str(err.value)
    acked = [json.loads(x) for x in journal.read_text().splitlines()[1:]]
    assert [e["chunk"] for e in acked if e["type"] == "acked"] == [1]


def test_a_partly_applied_chunk_is_not_acked_and_verify_names_the_misses(local, tmp_path):
    hub, pid, client = local
    frame = boxes(["0001.jpg", "img-0002.jpg", "img-0003.jpg"])
    journal = tmp_path / "j.jsonl"
    with pytest.raises(ImportIncomplete) as err:
        import_labels(client, pid, frame, journal=journal)
    assert set(err.value.results["status"]) == {"unconfirmed"}
    assert "2 / 3 tasks are labeled" in err.value.results.loc[0, "reply"]
    assert not any('"acked"' in line for line in journal.read_text().splitlines())
    with pytest.raises(ImportIncomplete) as err:
        import_labels(client, pid, frame, verify=True)
    res = err.value.results
    assert list(res["status"]) == ["unmatched", "sent", "sent"]
    assert list(res["verified"]) == [False, True, True]
    assert "unmatched: 0001.jpg" in str(err.value) and "img-0002" not in str(err.value)
    exports = [r for r in hub.requests if r.path == "/v2/export"]
    assert '"$in"' in exports[-1].query["filters"]


def test_verify_passes_when_every_label_arrived(local):
    _hub, pid, client = local
    res = import_labels(client, pid, boxes(["img-0001.jpg", "img-0002.jpg"]), verify=True)
    assert list(res["status"]) == ["sent", "sent"] and res["verified"].all()


def test_a_deliberate_reimport_is_applied_again_a_resume_is_not(local, tmp_path):
    hub, pid, client = local
    a, b = boxes(["img-0001.jpg"], x=5.0), boxes(["img-0001.jpg"], x=9.0)
    import_labels(client, pid, a)
    import_labels(client, pid, b)
    import_labels(client, pid, a)  # same bytes as the first run: a new run, so a new key
    assert _answer_x(hub, pid, "img-0001.jpg") == [5.0]
    assert hub.applications("img-0001.jpg") == 3 and hub.replays == 0
    # a resumed run keeps its run id (in the journal) and so its keys
    journal = tmp_path / "j.jsonl"
    hub.faults.add("import_labels", "drop_after")  # applied, the answer lost
    with pytest.raises(ImportIncomplete):
        import_labels(client, pid, b, journal=journal)
    import_labels(client, pid, b, journal=journal)
    assert hub.replays == 1 and hub.applications("img-0001.jpg") == 4
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    keys = [e["key"] for e in lines if e["type"] == "sending"]
    assert len(keys) == 2 and keys[0] == keys[1] and isinstance(lines[0]["run"], str)


def test_attachments_without_an_asset_are_unmatched(local):
    _hub, pid, client = local
    frame = pd.DataFrame({"external_id": ["nope.jpg"], "url": ["https://files.example.org/a"]})
    with pytest.raises(ImportIncomplete) as err:
        import_attachments(client, pid, frame)
    assert list(err.value.results["status"]) == ["unmatched"]


def test_import_file_body_goes_through_chunking_journal_and_verify(local, tmp_path):
    hub, pid, client = local
    frame = boxes(["img-0001.jpg", "img-0002.jpg", "img-0003.jpg"], x=7.0)
    dry = import_labels(client, pid, frame, body="import-file", chunk_rows=2, dry_run=True)
    assert [len(c["jsonContent"]) for c in dry.chunks] == [2, 1]
    item = dry.chunks[0]["jsonContent"][0]
    assert set(item) == {"externalId", "objects", "classifications", "relations"}
    res = import_labels(client, pid, frame, body="import-file", chunk_rows=2, verify=True,
                        journal=tmp_path / "j.jsonl")  # fmt: skip
    assert set(res["status"]) == {"sent"} and res["verified"].all()
    assert _answer_x(hub, pid, "img-0003.jpg") == [7.0]
    with pytest.raises(ConfigError, match="body"):
        import_labels(client, pid, frame, body="jsonContent")


# ------------------------------------------------------------------- replies that are not success


class Odd(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), OddHandler)
        self.reply: tuple[int, bytes] = (200, b"")


class OddHandler(BaseHTTPRequestHandler):
    server: Odd

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        status, raw = self.server.reply
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def odd():
    server = Odd()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with Client("k", base_url=f"http://127.0.0.1:{server.server_address[1]}/v2",
                rate_limit=None, retry=RetryPolicy(max_attempts=1)) as client:  # fmt: skip
        yield server, client
    server.shutdown()
    server.server_close()


SUCCESS = b'{"status": "success", "data": {"project": "1 / 1 tasks are labeled."}}'


@pytest.mark.parametrize(
    "reply",
    [
        (
            200,
            b'{"status": "fail", "message": "no", "data": {"project": "1 / 1 tasks are labeled."}}',
        ),
        (200, b""),
        (200, b"null"),
        (200, b"<html>ok</html>"),
        (200, b'{"status": "success", "data": {"project": "done"}}'),
        (200, b'{"status": "success", "data": {"project": "5 / 5 tasks are labeled."}}'),
        (302, SUCCESS),
        (304, b""),
    ],
    ids=["status-fail", "empty", "null", "not-json", "no-count", "other-count", "302", "304"],
)
def test_a_reply_that_is_not_success_is_never_success(odd, reply, tmp_path):
    server, client = odd
    server.reply = reply
    journal = tmp_path / "j.jsonl"
    with pytest.raises(ImportIncomplete) as err:
        import_labels(client, "p", boxes(["img-0001.jpg"]), journal=journal)
    assert list(err.value.results["status"]) == ["failed"]
    assert not any('"acked"' in line for line in journal.read_text().splitlines())
    server.reply = (200, SUCCESS)
    assert list(import_labels(client, "p", boxes(["img-0001.jpg"]))["status"]) == ["sent"]


# --------------------------------------------------------------------------------- the journal


def test_a_journal_cut_by_a_crash_resumes_every_time(local, tmp_path):
    hub, pid, client = local
    journal = tmp_path / "j.jsonl"
    frame = boxes(["img-0001.jpg", "img-0002.jpg", "img-0003.jpg"])
    import_labels(client, pid, frame, chunk_rows=1, journal=journal)
    text = journal.read_bytes()
    journal.write_bytes(text[: len(text) - 9])  # the last "acked" line cut mid-way
    for _ in range(2):  # run 2 and run 3 both resume
        res = import_labels(client, pid, frame, chunk_rows=1, journal=journal)
        assert set(res["status"]) <= {"sent", "skipped (journal)"}
    assert journal.read_bytes().endswith(b"\n")
    assert hub.applications("img-0003.jpg") == 1 and hub.replays == 1


def test_a_second_import_on_a_held_journal_is_refused_at_once(local, tmp_path):
    hub, pid, client = local
    frame = boxes(["img-0001.jpg"])
    journal = tmp_path / "j.jsonl"
    dry = import_labels(client, pid, frame, dry_run=True)
    from ango_frames.imports.chunks import plan_fingerprint

    fp = plan_fingerprint("labels", pid, [type("C", (), {"sha256": dry.plan.loc[0, "sha256"]})])
    with Journal(journal, pid, "labels", fp):
        with pytest.raises(ConfigError, match="in use by another import"):
            import_labels(client, pid, frame, journal=journal)
        assert [r for r in hub.requests if r.path == "/v2/import/labels"] == []
    assert list(import_labels(client, pid, frame, journal=journal)["status"]) == ["sent"]


@pytest.mark.parametrize(
    "line",
    [
        b'{"type": "acked", "chunk": "0", "key": "k", "sha256": "s"}',
        b'{"type": "acked", "key": "k", "sha256": "s"}',
        b'{"type": "party"}',
        b"[1, 2]",
        b"not json at all",
    ],
)
def test_hand_edited_journal_lines_are_a_config_error_naming_the_line(local, tmp_path, line):
    _hub, pid, client = local
    journal = tmp_path / "j.jsonl"
    frame = boxes(["img-0001.jpg"])
    import_labels(client, pid, frame, journal=journal)
    lines = journal.read_bytes().splitlines()
    journal.write_bytes(b"\n".join([lines[0], line, *lines[1:]]) + b"\n")
    with pytest.raises(ConfigError, match=r"j\.jsonl:2: not a journal"):
        import_labels(client, pid, frame, journal=journal)
    journal.write_bytes(b'{"type": "header", "project": 5}\n')
    with pytest.raises(ConfigError, match=r"j\.jsonl:1: not an ango_frames import journal"):
        import_labels(client, pid, frame, journal=journal)
