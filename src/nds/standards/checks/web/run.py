"""Orchestrating one web target: ``check_web(host, net, profile)`` (the entry point rounds call)."""

from __future__ import annotations

from nds.standards.checks.tls.probe import HandshakeCounter
from nds.standards.model import Report
from nds.standards.net import NetworkConfig


async def check_web(host: str, net: NetworkConfig, profile: str, counter: HandshakeCounter | None = None) -> Report:
    """Run the website test for ``host`` under TLS ``profile``; ``counter`` accumulates TLS handshakes."""
    raise NotImplementedError
