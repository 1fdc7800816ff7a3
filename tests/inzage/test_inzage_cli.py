"""``nds inzage``: bad input and a damaged DigiLab state are one-line errors, never tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nds.inzage.cli import app

pytestmark = pytest.mark.unit


def _state(d: Path, data: object) -> Path:
    d.mkdir()
    (d / "digilab.json").write_text(json.dumps(data))
    return d


@pytest.mark.parametrize(
    "data",
    [
        [1],
        {"portal": {}, "digid": {}, "organisations": []},
        {
            "portal": {"outway_address": "x"},
            "digid": {"private_jwk_path": "missing.jwk"},
            "organisations": [],
        },
    ],
)
def test_damaged_state_is_a_clear_error(tmp_path: Path, data: object) -> None:
    r = CliRunner().invoke(app, ["--state", str(_state(tmp_path / "s", data)), "--bsn", "999993653"])
    assert r.exit_code == 2, r.output
    assert isinstance(r.exception, SystemExit)  # not an uncaught exception
    assert "fout:" in r.output


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["--bsn", "12345678"], "9 cijfers"),
        (["--bsn", "١٢٣٤٥٦٧٨٩"], "9 cijfers"),  # Unicode digits are not a BSN
        (["--bsn", "999993653", "--format", "xml"], "--format"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path: Path, args: list[str], msg: str) -> None:
    r = CliRunner().invoke(app, ["--state", str(tmp_path), *args])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit)
    assert msg in r.output
