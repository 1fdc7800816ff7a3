from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from logboek_tamper import edit

from nds.db import make_engine
from nds.logboek.model import DataSubject, Processing, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.store import Logboek

pytestmark = pytest.mark.integration

ACTIVITY = {
    "name": "Uitkering toekennen",
    "purpose": "Recht op uitkering vaststellen",
    "legal_basis": {
        "ground": "e",
        "provision": "Participatiewet art. 7",
        "link": "https://wetten.overheid.nl/BWBR0015703",
    },
    "controller_oin": "00000001001234567000",
    "controller_name": "UWV-achtig",
    "role": "controller",
    "data_subject_categories": ["aanvragers"],
    "personal_data_categories": ["inkomen"],
    "security_measures": ["BIO"],
    "retention_days": 365,
}


def _keys(d: Path, name: str) -> tuple[Path, Path]:
    k = ec.generate_private_key(ec.SECP256R1())
    priv, pub = d / f"{name}.key", d / f"{name}.pub"
    priv.write_bytes(
        k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pub.write_bytes(
        k.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv, pub


def _nds(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nds", "logboek", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_init_register_checkpoint_verify_tamper(tmp_path: Path, db_url: str) -> None:
    env = {
        **os.environ,
        "NDS_LOGBOEK_DATABASE_URL": db_url,
        "NDS_LOGBOEK_KEYRING": str(tmp_path / "k.json"),
        "NDS_LOGBOEK_NAME": "uwv",
        "NDS_LOGBOEK_REGISTER_BASE_URI": "https://uwv.example/register",
    }
    org_key, org_pub = _keys(tmp_path, "org")
    wit_key, wit_pub = _keys(tmp_path, "witness")
    assert _nds(env, "init").returncode == 0
    (tmp_path / "act.json").write_text(json.dumps(ACTIVITY))
    pub = _nds(env, "register", "publish", "uitkering", str(tmp_path / "act.json"))
    assert pub.returncode == 0, pub.stderr
    uri = pub.stdout.strip()
    assert uri == "https://uwv.example/register/verwerkingsactiviteiten/uitkering/versies/1"
    bad = _nds(env, "register", "publish", "uitkering", str(tmp_path / "missing.json"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "cannot read" in bad.stderr

    lb = Logboek(db_url, Keyring.load(tmp_path / "k.json"))
    for _ in range(5):
        lb.write(Processing("toekennen", uri, (DataSubject("999993653"),), new_trace_id()))
    lb.close()

    cp = _nds(
        env, "checkpoint", "--key", str(org_key), "--witness-key", str(wit_key), "--witness-id", "directory"
    )
    assert cp.returncode == 0, cp.stderr
    args = [
        "verify",
        "--org-public-key",
        str(org_pub),
        "--witness",
        f"directory={wit_pub}",
        "--format",
        "json",
    ]
    ok = _nds(env, *args)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["checked"] == 5

    eng = make_engine(db_url)
    with eng.begin() as conn:
        edit(conn, 3, end_time=1)
    eng.dispose()
    broken = _nds(env, *args)
    assert broken.returncode == 1
    problems = json.loads(broken.stdout)["problems"]
    assert [(p["seq"], p["kind"]) for p in problems] == [(3, "edited")]


def test_cli_bad_database_and_input_are_clear_errors(tmp_path: Path) -> None:
    """A database without logboek tables, an unknown URL scheme, a non-UTF-8 activity file and an
    unknown output format: exit 2 with a one-line error, no traceback, no password echoed."""
    org_key, org_pub = _keys(tmp_path, "org")
    env = {**os.environ, "NDS_LOGBOEK_KEYRING": str(tmp_path / "k.json")}
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe{}")
    cases = [
        ["verify", "--db", empty, "--org-public-key", str(org_pub)],
        ["verify", "--db", "nonsense://u:geheim@x/y", "--org-public-key", str(org_pub)],
        [
            "checkpoint",
            "--db",
            empty,
            "--key",
            str(org_key),
            "--witness-key",
            str(org_key),
            "--witness-id",
            "w",
        ],
        ["purge", "--db", empty, "--key", str(org_key)],
        ["register", "list", "--db", empty],
        ["register", "publish", "abc", str(tmp_path / "bad.json"), "--db", empty],
        ["init", "--db", "nonsense://u:geheim@x/y"],
        ["lookup", "--officer", "jansen", "--reason", "brief", "--bsn", "999993653", "--db", empty],
        ["lookup", "--officer", "jansen", "--reason", "brief", "--bsn", "١٢٣٤٥٦٧٨٩", "--db", empty],
    ]
    for args in cases:
        r = _nds(env, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and "fout:" in r.stderr, (args, r.stderr)
        assert "geheim" not in r.stdout + r.stderr and "999993653" not in r.stdout + r.stderr
    assert _nds(env, "init", "--db", empty).returncode == 0
    fmt = _nds(env, "verify", "--db", empty, "--org-public-key", str(org_pub), "--format", "xml")
    assert fmt.returncode == 2 and "--format" in fmt.stderr
