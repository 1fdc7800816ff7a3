"""SMTP up to STARTTLS (RFC 5321, RFC 3207), and a loopback proxy so the TLS scanner can test it.

Politeness, as internet.nl: one connection at a time per MX address. Rate limits and greylisting
(4xx replies, RFC 5321 §4.2.1; 421 "service not available") are transient: retried with backoff;
if they persist the result is ``transient`` and the check reports not_tested, never a failure.

``StarttlsProxy`` listens on 127.0.0.1; every connection to it becomes a fresh SMTP session to the
MX (banner, EHLO, STARTTLS) after which bytes are relayed unchanged, so the web TLS scanner
(``nds.standards.checks.tls.retrieve.scan_address``) sees a plain TLS server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field

from nds.standards.net import NetworkConfig

MAX_LINE = 4096


class SmtpTransient(Exception):
    """4xx reply or connection dropped mid-session: try again later."""


class SmtpPermanent(Exception):
    """5xx reply: the server refuses us."""


@dataclass
class SessionResult:
    outcome: str  # ok | no_starttls | unreachable | transient | refused | error
    detail: str = ""
    banner: str = ""
    extensions: list[str] = field(default_factory=list)
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def ehlo_name(net: NetworkConfig) -> str:
    """The EHLO argument (RFC 5321 §4.1.1.1: our FQDN); ``--ehlo-name`` sets it. No DNS lookup here."""
    return net.extra.get("ehlo_name") or socket.gethostname() or "localhost"


def retry_delay(net: NetworkConfig) -> float:
    try:
        return float(net.extra.get("smtp_retry_delay", "5"))
    except ValueError:
        return 5.0


async def _reply(reader: asyncio.StreamReader, timeout: float) -> tuple[int, list[str]]:
    """One (multi-line) SMTP reply: (code, text lines)."""
    lines: list[str] = []
    while True:
        try:
            raw = await asyncio.wait_for(reader.readline(), timeout)
        except TimeoutError:  # connected but silent (tarpitting, overload): transient, not unreachable
            raise SmtpTransient(f"no SMTP reply within {timeout:g} s") from None
        if not raw:
            raise SmtpTransient("connection closed by the server")
        line = raw[:MAX_LINE].decode("utf-8", errors="replace").rstrip("\r\n")
        if len(line) < 3 or not line[:3].isdigit():
            raise SmtpTransient(f"malformed SMTP reply {line[:60]!r}")
        lines.append(line[4:])
        if len(line) == 3 or line[3] == " ":
            return int(line[:3]), lines
        if len(lines) > 100:
            raise SmtpTransient("SMTP reply too long")


def _check(code: int, lines: list[str], what: str) -> None:
    if 400 <= code < 500:
        raise SmtpTransient(f"{what}: {code} {' '.join(lines)[:120]}")
    if code >= 500:
        raise SmtpPermanent(f"{what}: {code} {' '.join(lines)[:120]}")


async def starttls_preamble(
    addr: str, port: int, net: NetworkConfig
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, SessionResult]:
    """Connect, read the banner, EHLO and STARTTLS; returns the raw stream ready for a ClientHello.

    Raises OSError/TimeoutError (unreachable), SmtpTransient, SmtpPermanent; result.outcome is
    ``no_starttls`` (stream already closed) when STARTTLS is not offered."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(addr, port), net.timeout)
    res = SessionResult("error")
    try:
        code, lines = await _reply(reader, net.timeout)
        res.banner = f"{code} {lines[0][:120] if lines else ''}"
        _check(code, lines, "banner")
        writer.write(f"EHLO {ehlo_name(net)}\r\n".encode())
        await writer.drain()
        code, lines = await _reply(reader, net.timeout)
        _check(code, lines, "EHLO")
        res.extensions = [ln.split(" ", 1)[0].upper() for ln in lines[1:]]
        if "STARTTLS" not in res.extensions:
            res.outcome = "no_starttls"
            res.detail = "STARTTLS not offered in the EHLO reply"
            with contextlib.suppress(OSError, TimeoutError, SmtpTransient):
                writer.write(b"QUIT\r\n")
                await writer.drain()
            writer.close()
            return reader, writer, res
        writer.write(b"STARTTLS\r\n")
        await writer.drain()
        code, lines = await _reply(reader, net.timeout)
        _check(code, lines, "STARTTLS")
        if code != 220:
            raise SmtpPermanent(f"STARTTLS answered {code}")
        res.outcome = "ok"
        return reader, writer, res
    except BaseException:
        writer.close()
        raise


async def session(
    addr: str, port: int, net: NetworkConfig
) -> tuple[SessionResult, tuple[asyncio.StreamReader, asyncio.StreamWriter] | None]:
    """``starttls_preamble`` with retries for transient trouble; never raises for network errors."""
    last = SessionResult("error")
    for attempt in range(net.retries + 1):
        try:
            reader, writer, res = await starttls_preamble(addr, port, net)
            res.attempts = attempt + 1
            return res, ((reader, writer) if res.ok else None)
        except SmtpPermanent as exc:
            return SessionResult("refused", str(exc), attempts=attempt + 1), None
        except SmtpTransient as exc:
            last = SessionResult("transient", str(exc), attempts=attempt + 1)
        except ValueError as exc:  # a reply line over the stream limit: not an SMTP server we can talk to
            return SessionResult("refused", f"SMTP protocol error: {exc}", attempts=attempt + 1), None
        except (OSError, TimeoutError) as exc:
            last = SessionResult(
                "unreachable",
                f"cannot connect to {addr} port {port}: {exc.__class__.__name__} {exc}".strip(),
                attempts=attempt + 1,
            )
        if attempt < net.retries:
            await asyncio.sleep(retry_delay(net) * (attempt + 1))
    return last, None


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError, asyncio.IncompleteReadError):
        while True:
            data = await src.read(65536)
            if not data:
                break
            dst.write(data)
            await dst.drain()
    with contextlib.suppress(OSError, RuntimeError):
        if dst.can_write_eof():
            dst.write_eof()


class StarttlsProxy:
    """Loopback relay: each accepted connection = one SMTP session to (addr, port) after STARTTLS.

    Sessions to the MX are serialised (one at a time). ``failures`` counts relayed connections
    whose SMTP preamble failed even after retries: a scan with failures is not trustworthy."""

    def __init__(self, addr: str, port: int, net: NetworkConfig) -> None:
        self.addr, self.port, self.net = addr, port, net
        self._lock = asyncio.Lock()
        self._server: asyncio.base_events.Server | None = None
        self.failures: list[str] = []
        self.sessions = 0

    @property
    def listen(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    async def __aenter__(self) -> StarttlsProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        async with self._lock:
            self.sessions += 1
            res, stream = await session(self.addr, self.port, self.net)
            if stream is None:
                self.failures.append(res.detail or res.outcome)
                cwriter.close()
                return
            sreader, swriter = stream
            tasks = {
                asyncio.ensure_future(_pipe(creader, swriter)),
                asyncio.ensure_future(_pipe(sreader, cwriter)),
            }
            try:
                _, pending = await asyncio.wait(
                    tasks, timeout=self.net.timeout * 6, return_when=asyncio.FIRST_COMPLETED
                )
                if pending:  # one side finished: give the other a moment to drain, then stop
                    _, pending = await asyncio.wait(pending, timeout=1.0)
                for t in pending:
                    t.cancel()
            finally:
                for w in (swriter, cwriter):
                    w.close()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(w.wait_closed(), 2)
