from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from nds.settings import Settings
from nds.web.app import create_app


def test_home_page_dutch_and_security_headers() -> None:
    c = TestClient(create_app(Settings()))
    r = c.get("/")
    assert r.status_code == 200
    assert '<html lang="nl"' in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_demo_mode_only_on_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        create_app(Settings(demo_mode=True, web_host="0.0.0.0"))
    c = TestClient(create_app(Settings(demo_mode=True, web_host="127.0.0.1")))
    assert "Demo-omgeving" in c.get("/").text
