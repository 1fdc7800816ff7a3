from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nds.settings import Settings
from nds.web.app import create_app

from .labfakes import Lab, make_lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = make_lab(tmp_path / "lab")
    try:
        yield lab
    finally:
        lab.close()


def make_client(lab: Lab, tmp_path: Path, demo: bool = True) -> TestClient:
    app = create_app(Settings(demo_mode=demo, state_dir=tmp_path / "web"))
    app.state.digilab_data = lab.data()
    return TestClient(app)


@pytest.fixture
def client(lab: Lab, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(lab, tmp_path) as c:
        yield c
