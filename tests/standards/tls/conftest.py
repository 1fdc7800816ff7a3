from __future__ import annotations

from pathlib import Path

import pytest
from nds_tls_helpers import TestCA


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(Path(tmp_path_factory.mktemp("ca")))
