from __future__ import annotations

import pytest

from nds.standards.net import ConnectTo, NetworkConfig

pytestmark = pytest.mark.unit


def test_connect_to_parses_like_curl() -> None:
    c = ConnectTo.parse("Example.NL.:443:127.0.0.5:8443")
    assert (c.host, c.port, c.addr, c.addr_port) == ("example.nl", 443, "127.0.0.5", 8443)
    c6 = ConnectTo.parse("example.nl:443:[::1]:4443")
    assert c6.addr == "::1" and c6.addr_port == 4443
    cfg = NetworkConfig(connect_to=(c, c6))
    assert cfg.route("EXAMPLE.nl", 443) == ("127.0.0.5", 8443)
    assert cfg.route("other.nl", 443) is None


@pytest.mark.parametrize("bad", ["example.nl:443:127.0.0.1", "a:b:c:d", "x:1:[::1:2"])
def test_connect_to_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        ConnectTo.parse(bad)


def test_resolver_spec() -> None:
    assert NetworkConfig.parse_resolver("127.0.0.53:5353") == ("127.0.0.53", 5353)
    assert NetworkConfig.parse_resolver("[::1]:53") == ("::1", 53)
    with pytest.raises(ValueError):
        NetworkConfig.parse_resolver("127.0.0.1")
