from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from digilab_weblab import Lab, make_client, make_lab
from fastapi.testclient import TestClient


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = make_lab(tmp_path / "lab")
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def client(lab: Lab, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(lab, tmp_path) as c:
        yield c
