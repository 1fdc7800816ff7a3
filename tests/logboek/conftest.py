from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine

from nds.db import make_engine
from nds.logboek.pseudonym import Keyring
from nds.logboek.register import Register
from nds.logboek.signing import Signer
from nds.logboek.store import Logboek, migrate_logboek


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keys" / "pseudonyms.json")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    migrate_logboek(db_url)
    eng = make_engine(db_url, immediate=True)
    yield eng
    eng.dispose()


@pytest.fixture
def logboek(engine: Engine, keyring: Keyring) -> Iterator[Logboek]:
    lb = Logboek(engine, keyring)
    yield lb
    lb.close()


@pytest.fixture
def register(engine: Engine) -> Register:
    return Register(engine, "https://gemeente.digilab.example/register")


@pytest.fixture
def org_signer() -> Signer:
    return Signer("00000001001234567000", ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def witness_signer() -> Signer:
    return Signer("00000001009999999000", ec.generate_private_key(ec.SECP256R1()))
