"""Network overrides shared by every check, so every check also runs offline on loopback.

- ``connect_to``: as curl's ``--connect-to HOST:PORT:ADDR:PORT``: connections for (host, port)
  go to (addr, port) instead, while SNI, Host header and certificate checks still use ``host``.
- ``resolver``: the validating resolver (address, port) used for every DNS query.
- ``ca_file``: extra trust anchors (PEM) for certificate-trust checks.
The web app never lets a visitor set these (they exist only in the CLI and in tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ConnectTo:
    host: str
    port: int
    addr: str
    addr_port: int

    @classmethod
    def parse(cls, spec: str) -> ConnectTo:
        """Parse ``HOST:PORT:ADDR:PORT``; IPv6 addresses in brackets (``[::1]``)."""
        parts: list[str] = []
        rest = spec
        while rest:
            if rest.startswith("["):
                end = rest.find("]")
                if end < 0:
                    raise ValueError(f"unclosed '[' in --connect-to {spec!r}")
                parts.append(rest[1:end])
                rest = rest[end + 1 :]
                rest = rest[1:] if rest.startswith(":") else rest
            else:
                head, _, rest = rest.partition(":")
                parts.append(head)
        if len(parts) != 4:
            raise ValueError(f"--connect-to must be HOST:PORT:ADDR:PORT, got {spec!r}")
        host, port, addr, addr_port = parts
        try:
            return cls(host.lower().rstrip("."), int(port), addr, int(addr_port))
        except ValueError as exc:
            raise ValueError(f"ports in --connect-to must be numbers: {spec!r}") from exc


@dataclass(frozen=True)
class NetworkConfig:
    connect_to: tuple[ConnectTo, ...] = ()
    resolver: tuple[str, int] | None = None
    ca_file: Path | None = None
    timeout: float = 10.0
    dns_timeout: float = 5.0
    retries: int = 2  # rate limits and greylisting: retry before reporting error/not_tested
    extra: dict[str, str] = field(default_factory=dict)

    def route(self, host: str, port: int) -> tuple[str, int] | None:
        """Where a connection to (host, port) really goes, if overridden."""
        h = host.lower().rstrip(".")
        for c in self.connect_to:
            if c.host == h and c.port == port:
                return c.addr, c.addr_port
        return None

    @staticmethod
    def parse_resolver(spec: str) -> tuple[str, int]:
        if spec.startswith("["):
            addr, _, port = spec[1:].partition("]:")
        else:
            addr, _, port = spec.rpartition(":")
        if not addr or not port.isdigit():
            raise ValueError(f"--resolver must be ADDR:PORT (IPv6 as [ADDR]:PORT), got {spec!r}")
        return addr, int(port)
