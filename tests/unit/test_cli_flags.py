"""The ango-frames parser: help texts, global flags anywhere, one-line errors, --version (no
socket)."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

import ango_frames
from ango_frames.cli import build_parser, main


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _flags(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if action.option_strings and not isinstance(
            action, (argparse._HelpAction, argparse._VersionAction)
        ):
            yield action


def test_every_flag_says_what_it_does_and_its_default():
    parser = build_parser()
    parsers = {"ango-frames": parser, **_subparsers(parser)}
    missing = []
    for name, p in parsers.items():
        for action in _flags(p):
            text = p._get_formatter()._expand_help(action) if action.help else ""
            if "(default: " not in text or "SUPPRESS" in text:
                missing.append(f"{name} {action.option_strings[0]}: {text!r}")
    assert missing == []


def test_time_flags_explain_their_format():
    export = _subparsers(build_parser())["export"]
    helps = {a.option_strings[0]: a.help for a in _flags(export)}
    for flag in ("--updated-after", "--updated-before", "--created-after", "--created-before"):
        assert "ISO 8601 with a zone" in helps[flag]
        assert "a bare date 2024-05-01 = midnight UTC" in helps[flag]


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"ango-frames {version('ango-frames')}\n"
    assert ango_frames.__version__ == version("ango-frames")


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "--api-key", "K", "--region", "us", "export", "p", "d"],
        ["export", "p", "d", "--debug", "--api-key", "K", "--region", "us"],
        ["--debug", "export", "--region", "us", "p", "d", "--api-key", "K"],
    ],
)
def test_global_flags_before_or_after_the_subcommand(argv):
    args = build_parser().parse_args(argv)
    assert (args.debug, args.api_key, args.region, args.project) == (True, "K", "us", "p")


def test_global_flag_defaults_hold_when_not_given():
    args = build_parser().parse_args(["export", "p", "d"])
    assert (args.debug, args.api_key, args.region, args.base_url) == (False, None, "eu", None)
    assert (args.retries, args.timeout, args.rate_limit) == (5, (10.0, 120.0), 100.0)


def test_a_flag_after_the_subcommand_wins_over_one_before():
    args = build_parser().parse_args(["--region", "us", "export", "p", "d", "--region", "in"])
    assert args.region == "in"


def test_retries_timeout_and_rate_limit_values():
    args = build_parser().parse_args(
        ["export", "p", "d", "--retries", "0", "--timeout", "3,30", "--rate-limit", "0"]
    )
    assert (args.retries, args.timeout, args.rate_limit) == (0, (3.0, 30.0), None)
    args = build_parser().parse_args(["--timeout", "7", "export", "p", "d"])
    assert args.timeout == (7.0, 7.0)


def test_serve_local_keeps_its_own_api_key():
    args = build_parser().parse_args(["serve-local", "--api-key", "local-key"])
    assert args.api_key == "local-key"
    args = build_parser().parse_args(["serve-local"])
    assert args.api_key is None


def test_bare_date_is_midnight_utc():
    args = build_parser().parse_args(["export", "p", "d", "--created-after", "2024-05-01"])
    assert args.created_after == dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["export", "p", "d", "--updated-after", "2020-01-01T00:00:00"],
            "ango-frames export: error: argument --updated-after: '2020-01-01T00:00:00' has no "
            "time zone; add Z or +HH:MM (see ango-frames export --help)",
        ),
        (
            ["export", "p", "d", "--retries", "-1"],
            "ango-frames export: error: argument --retries: expected a whole number >= 0, got "
            "'-1' (see ango-frames export --help)",
        ),
        (
            ["export", "p", "d", "--rate-limit", "inf"],
            "ango-frames export: error: argument --rate-limit: expected a finite number >= 0, "
            "got 'inf' (see ango-frames export --help)",
        ),
        (
            ["--timeout", "0", "export", "p", "d"],
            "ango-frames: error: argument --timeout: timeouts must be > 0, got '0' "
            "(see ango-frames --help)",
        ),
        (
            ["import-labels", "p", "f.csv", "--chunk-rows", "0"],
            "ango-frames import-labels: error: argument --chunk-rows: expected a whole number "
            ">= 1, got '0' (see ango-frames import-labels --help)",
        ),
        (
            ["export", "p", "d", "--to", "xlsx"],
            "ango-frames export: error: argument --to: invalid choice: 'xlsx' (choose from "
            "'parquet', 'csv', 'ndjson') (see ango-frames export --help)",
        ),
        (
            [],
            "ango-frames: error: the following arguments are required: COMMAND "
            "(see ango-frames --help)",
        ),
    ],
)
def test_a_bad_flag_value_is_one_line(capsys, argv, line):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err == line + "\n"


def test_missing_api_key_names_the_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ANGO_API_KEY", raising=False)
    assert main(["export", "p", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "ango-frames: error: no api key: pass --api-key or set ANGO_API_KEY\n"
    )


def test_plain_http_refusal_names_the_flag(tmp_path, capsys):
    argv = ["export", "p", str(tmp_path), "--api-key", "K", "--base-url", "http://example.org/v2"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "ango-frames: error: refusing plain http to example.org: use https, or pass "
        "--allow-insecure-http if you really mean it\n"
    )
