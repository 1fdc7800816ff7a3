"""Measurement rounds: many targets, concurrently, politely, every raw result stored, resumable.

Targets CSV (header row, UTF-8, ``,`` or ``;``)::

    organisatie,type,bestuursorgaan,domein,web,mail
    Gemeente Voorbeeld,gemeente,ja,voorbeeld.nl,ja,ja

English headers (organisation, type, bestuursorgaan, domain, web, mail) work too; yes/no as
ja/nee, yes/no, true/false, 1/0. A row with neither web nor mail is refused.

Politeness: at most ``per_ip`` concurrent tests per target IP address (web), one at a time per
MX IP (mail), a per-domain deadline (a test over its deadline is stored as ``deadline``), and
a global concurrency cap. MX results are shared through ``RoundContext.mx_cache`` so a mail host
serving many domains is tested once per round.

The checks are called through ``Checkers`` (the seam): by default the web check of
``nds.standards.checks.web.run.check_web(host, net, profile, counter)`` and the mail check
``nds.standards.checks.mail.run.check_mail(domain, net, profile)`` when those modules exist.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from nds.standards import store
from nds.standards.model import SUBTESTS, Report, Status, Subtest, TestResult
from nds.standards.net import NetworkConfig

ROUND_ERROR = SUBTESTS.declare(
    Subtest(
        "round.error", "meting", Status.ERROR, "De test kon niet (volledig) worden uitgevoerd", "nds round"
    )
)

WebCheck = Callable[..., Awaitable[Report]]
MailCheck = Callable[..., Awaitable[Report]]

_YES = {"ja", "j", "yes", "y", "true", "1", "x"}
_NO = {"nee", "n", "no", "false", "0", ""}
_COLUMNS = {
    "organisation": ("organisatie", "organisation", "organization"),
    "org_type": ("type", "organisatietype", "organisation type", "org_type"),
    "bestuursorgaan": ("bestuursorgaan",),
    "domain": ("domein", "domain"),
    "check_web": ("web",),
    "check_mail": ("mail",),
}


class TargetsError(ValueError):
    """The targets file is unusable; the message says where and why."""


def _yes(value: str, where: str) -> bool:
    v = value.strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise TargetsError(f"{where}: expected ja/nee (yes/no), got {value!r}")


def normalise_domain(text: str) -> str:
    d = text.strip().lower().rstrip(".")
    if d.startswith(("http://", "https://")):
        d = d.split("://", 1)[1].split("/", 1)[0]
    try:
        d = d.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"invalid domain name {text!r}") from exc
    if not d or len(d) > 253 or any(not label or len(label) > 63 for label in d.split(".")):
        raise ValueError(f"invalid domain name {text!r}")
    return d


def parse_targets(text: str) -> list[dict[str, Any]]:
    """Rows for ``store.create_round``; raises ``TargetsError`` naming the line."""
    if not text.strip():
        raise TargetsError("the targets file is empty")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader)]
    index: dict[str, int] = {}
    for key, names in _COLUMNS.items():
        for n in names:
            if n in header:
                index[key] = header.index(n)
                break
    missing = [_COLUMNS[k][0] for k in ("organisation", "domain") if k not in index]
    if missing:
        raise TargetsError(f"line 1: missing column(s) {', '.join(missing)}; found {', '.join(header)}")
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for lineno, raw in enumerate(reader, start=2):
        if not any(c.strip() for c in raw):
            continue

        def col(key: str, default: str = "", raw: list[str] = raw) -> str:
            i = index.get(key)
            return raw[i].strip() if i is not None and i < len(raw) else default

        where = f"line {lineno}"
        org = col("organisation")
        if not org:
            raise TargetsError(f"{where}: organisation is empty")
        try:
            domain = normalise_domain(col("domain"))
        except ValueError as exc:
            raise TargetsError(f"{where}: {exc}") from None
        row = {
            "organisation": org[:300],
            "org_type": col("org_type", "onbekend")[:100] or "onbekend",
            "bestuursorgaan": _yes(col("bestuursorgaan", "ja"), where),
            "domain": domain,
            "check_web": _yes(col("check_web", "ja"), where),
            "check_mail": _yes(col("check_mail", "ja"), where),
        }
        if not (row["check_web"] or row["check_mail"]):
            raise TargetsError(f"{where}: neither web nor mail is to be checked for {domain}")
        if (org, domain) in seen:
            raise TargetsError(f"{where}: {domain} is listed twice for {org}")
        seen.add((org, domain))
        rows.append(row)
    if not rows:
        raise TargetsError("the targets file has a header but no targets")
    return rows


@dataclass
class Checkers:
    web: WebCheck | None
    mail: MailCheck | None

    @classmethod
    def default(cls) -> Checkers:
        return cls(
            web=_entry("nds.standards.checks.web.run", "check_web"),
            mail=_entry("nds.standards.checks.mail.run", "check_mail"),
        )


def _entry(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


@dataclass
class RoundContext:
    """Shared by all tests of a round: politeness locks, the MX cache, handshake counting."""

    per_ip: int = 2
    ip_locks: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    mx_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    mx_cache: dict[str, Any] = field(default_factory=dict)
    handshakes: int = 0

    def ip_lock(self, addr: str) -> asyncio.Semaphore:
        return self.ip_locks.setdefault(addr, asyncio.Semaphore(self.per_ip))

    def mx_lock(self, addr: str) -> asyncio.Lock:
        return self.mx_locks.setdefault(addr, asyncio.Lock())


async def target_addresses(host: str, net: NetworkConfig, port: int = 443) -> list[str]:
    """The addresses a web test of ``host`` will connect to (for the per-IP politeness locks)."""
    routed = net.route(host, port)
    if routed is not None:
        return [routed[0]]
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    if net.resolver is not None:  # the same resolver the checks use (offline labs, own trust anchor)
        try:
            from nds.standards.checks.dns.resolver import DnsClient
        except ImportError:
            pass
        else:
            v4, v6 = await DnsClient(net).addresses(host)
            return sorted(set(v4) | set(v6))
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), net.dns_timeout)
    except (OSError, TimeoutError):
        return []
    return sorted({str(i[4][0]) for i in infos})


@dataclass
class RoundStats:
    total: int = 0
    done: int = 0
    skipped: int = 0
    errors: int = 0
    deadline: int = 0
    web_tests: int = 0
    seconds: float = 0.0
    handshakes: int = 0


ProgressHook = Callable[[str, str], None]  # (domain, kind) after each stored result


async def run_round(
    engine: Engine,
    round_id: int,
    net: NetworkConfig,
    checkers: Checkers,
    *,
    concurrency: int = 32,
    per_ip: int = 2,
    deadline: float = 130.0,
    progress: ProgressHook | None = None,
) -> RoundStats:
    """Run (or resume) a round: every (target, kind) without a stored result is tested once."""
    rnd = store.get_round(engine, round_id)
    if rnd is None:
        raise ValueError(f"round {round_id} does not exist")
    profile = rnd.profile
    done = store.done_keys(engine, round_id)
    jobs: list[tuple[store.Target, str]] = []
    stats = RoundStats()
    for t in store.round_targets(engine, round_id):
        for kind, wanted in (("web", t.check_web), ("mail", t.check_mail)):
            if not wanted:
                continue
            stats.total += 1
            if (t.id, kind) in done:
                stats.skipped += 1
            else:
                jobs.append((t, kind))
    ctx = RoundContext(per_ip=per_ip)
    gate = asyncio.Semaphore(concurrency)
    began = time.monotonic()

    async def one(t: store.Target, kind: str) -> None:
        async with gate:
            started = store.now()
            t0 = time.monotonic()
            outcome, report = await _run_one(t, kind, net, profile, checkers, ctx, deadline)
            seconds = time.monotonic() - t0
            try:
                stds = {k: v.value for k, v in report.standards().items()} if outcome == "done" else {}
                raw = report.to_json()
            except Exception as exc:  # e.g. a result with an undeclared subtest id: store it as an error
                outcome = "error"
                report = _error_report(
                    t.domain, profile, f"{kind} report unusable: {type(exc).__name__}: {exc}"
                )
                stds, raw = {}, report.to_json()
            await asyncio.to_thread(
                store.save_result,
                engine,
                round_id,
                t.id,
                kind,
                outcome,
                profile,
                raw,
                stds,
                started,
                seconds,
            )
            stats.done += 1
            stats.errors += outcome == "error"
            stats.deadline += outcome == "deadline"
            stats.web_tests += kind == "web"
            if progress is not None:
                progress(t.domain, kind)

    await asyncio.gather(*(one(t, k) for t, k in jobs))
    stats.seconds = time.monotonic() - began
    stats.handshakes = ctx.handshakes
    store.finish_round(engine, round_id)
    return stats


def _error_report(target: str, profile: str, message: str) -> Report:
    return Report(
        target=target, profile=profile, tests=[TestResult("round.error", Status.ERROR, message, "nds round")]
    )


async def _run_one(
    t: store.Target,
    kind: str,
    net: NetworkConfig,
    profile: str,
    checkers: Checkers,
    ctx: RoundContext,
    deadline: float,
) -> tuple[str, Report]:
    check = checkers.web if kind == "web" else checkers.mail
    if check is None:
        return "error", _error_report(t.domain, profile, f"no {kind} check is installed")
    try:
        if kind == "web":
            addrs = await target_addresses(t.domain, net)
            held: list[asyncio.Semaphore] = []
            try:
                for lock in (ctx.ip_lock(a) for a in addrs[:4]):  # sorted: no lock-order deadlock
                    await lock.acquire()
                    held.append(lock)
                counter = _counter()
                coro = (
                    check(t.domain, net, profile, counter)
                    if counter is not None
                    else check(t.domain, net, profile)
                )
                report = await asyncio.wait_for(coro, deadline)
                if counter is not None:
                    ctx.handshakes += counter.count
            finally:
                for lock in held:
                    lock.release()
        else:
            report = await asyncio.wait_for(_call_mail(check, t.domain, net, profile, ctx), deadline)
        return "done", report
    except TimeoutError:
        return "deadline", _error_report(
            t.domain, profile, f"the {kind} test exceeded its deadline of {deadline:.0f} s"
        )
    except Exception as exc:  # a failing check must not end the round; the error is stored
        return "error", _error_report(
            t.domain, profile, f"{kind} check failed: {type(exc).__name__}: {exc}"[:500]
        )


def _counter() -> Any:
    try:
        from nds.standards.checks.tls.probe import HandshakeCounter
    except ImportError:
        return None
    return HandshakeCounter()


async def _call_mail(
    check: MailCheck, domain: str, net: NetworkConfig, profile: str, ctx: RoundContext
) -> Report:
    """Mail checks that accept ``context`` get the round's MX locks and cache (one test per MX IP)."""
    import inspect

    try:
        params = inspect.signature(check).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "context" in params:
        return await check(domain, net, profile, context=ctx)
    return await check(domain, net, profile)


def read_targets_file(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TargetsError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise TargetsError(f"{path} is not UTF-8 text") from None
    return parse_targets(text)
