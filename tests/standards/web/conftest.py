from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tls"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # dnsinfra (the DNS family's lab)

from nds_tls_helpers import TestCA


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(Path(tmp_path_factory.mktemp("webca")))
