"""``nds fsc contract`` (python -m nds.fsc.contracts): hash, explain, validate; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import fsc_contract_factories as f
import pytest
from typer.testing import CliRunner

from nds.fsc.contracts.cli import app
from nds.fsc.contracts.model import parse_contract_content
from nds.fsc.contracts.versions import scheme_for

pytestmark = pytest.mark.unit
runner = CliRunner()


@pytest.fixture
def contract_file(tmp_path: Path) -> Path:
    path = tmp_path / "contract.json"
    path.write_text(json.dumps({"content": f.content(f.scg(), f.dscg())}), encoding="utf-8")
    return path


@pytest.mark.parametrize("version", ["1.1", "draft"])
def test_hash(contract_file: Path, version: str) -> None:
    result = runner.invoke(app, ["hash", str(contract_file), "--fsc-version", version])
    assert result.exit_code == 0, result.output
    content = parse_contract_content(f.content(f.scg(), f.dscg()), version)
    scheme = scheme_for(version)
    assert f"content  {scheme.content_hash(content)}" in result.output
    for grant_hash in scheme.grant_hashes(content):
        assert grant_hash in result.output


def test_explain_1_1_shows_the_bytes(contract_file: Path) -> None:
    result = runner.invoke(app, ["explain", str(contract_file), "--fsc-version", "1.1"])
    assert result.exit_code == 0, result.output
    assert "0633836483057b748000de4963503139" in result.output  # the iv's 16 bytes
    assert "data.service.type (int32)" in result.output and "01000000" in result.output
    assert (f.NOW - 3600).to_bytes(8, "little").hex() in result.output


def test_explain_draft_shows_jcs(contract_file: Path) -> None:
    result = runner.invoke(app, ["explain", str(contract_file), "--fsc-version", "draft"])
    assert result.exit_code == 0, result.output
    assert 'JCS {"created_at":' in result.output


def test_validate(contract_file: Path) -> None:
    args = ["validate", str(contract_file), "--group-id", f.GROUP, "--peer-id", f.PROVIDER,
            "--now", str(f.NOW)]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = runner.invoke(app, [*args[:3], "other-group", *args[4:]])
    assert bad.exit_code == 1 and "ERROR_CODE_INCORRECT_GROUP_ID  [group_id_matches]" in bad.output


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"iv": ', encoding="utf-8")
    for path in (broken, tmp_path / "missing.json"):
        result = runner.invoke(app, ["hash", str(path)])
        assert result.exit_code == 2
        assert "error:" in result.output and "Traceback" not in result.output
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(f.content(group_id="bad group")), encoding="utf-8")
    result = runner.invoke(app, ["hash", str(wrong)])
    assert result.exit_code == 2 and "ERROR_CODE_INCORRECT_GROUP_ID" in result.output
