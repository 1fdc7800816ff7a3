"""Standards pages (Dutch): rounds, reports with inline SVG charts, accessibility, API self-check.

The self-check form never lets a visitor reach inside our network: the target is refused when
its name or any address it resolves to is loopback, private, link-local, shared/CGNAT, reserved,
multicast or a cloud metadata endpoint; the check is repeated after DNS (in the resolver, for
every connection) and on every redirect hop. Responses are size-capped, each client is
rate-limited, and the network overrides (--connect-to, --ca-file) exist only in the CLI.
"""

from __future__ import annotations

import ipaddress
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response

from nds.standards.net import ConnectTo, NetworkConfig
from nds.web.app import add_nav, render

RATE_LIMIT = 5  # self-checks per client per window
STATUS_NL = {
    "passed": "voldoet",
    "failed": "voldoet niet",
    "warning": "waarschuwing",
    "info": "info",
    "error": "fout",
    "good_not_tested": "goed (niet getest)",
    "not_applicable": "n.v.t.",
    "not_tested": "niet getest",
}
RATE_WINDOW = 60.0
_BLOCKED_NAMES = {
    "localhost",
    "metadata",
    "metadata.google.internal",
    "instance-data",
    "instance-data.ec2.internal",
}
_BLOCKED_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")


def public_only(host: str, addr: str) -> None:
    """Guard for the web self-check: raise ``TargetRefused`` for non-public names and addresses."""
    from nds.standards.checks.api.retrieve import TargetRefused

    h = host.lower().rstrip(".")
    if h in _BLOCKED_NAMES or h.endswith(_BLOCKED_SUFFIXES):
        raise TargetRefused(f"{host} is geen publiek doel")
    if not addr:
        return
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        raise TargetRefused(f"{addr} is geen IP-adres") from None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64: judge the embedded IPv4 address
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        raise TargetRefused(
            f"{host} wijst naar {ip}, een niet-publiek adres (loopback, privé, link-local of metadata)"
        )


class RefusedTarget(ConnectionRefusedError):
    """Raised instead of connecting to a non-public address; checks treat it as a refused connection."""


@dataclass(frozen=True)
class GuardedNet(NetworkConfig):
    """Network settings for web/mail self-checks: every address literal a check is about to connect to
    passes ``route`` first (the checks route each connection through it), and non-public ones are refused
    before any packet is sent. ``connect_to`` pins hold the addresses vetted up front."""

    guard: Any = None

    def route(self, host: str, port: int) -> tuple[str, int] | None:
        pinned = super().route(host, port)
        if pinned is not None:
            return pinned
        try:
            ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        except ValueError:
            return None
        if self.guard is not None:
            from nds.standards.checks.api.retrieve import TargetRefused

            try:
                self.guard(host, host.strip("[]"))
            except TargetRefused as exc:
                raise RefusedTarget(str(exc)) from None
        # A vetted literal routes to itself, so a connection meant for this very address (e.g. the IPv6
        # reachability test) is never redirected to the host name's pinned address instead.
        return host.strip("[]"), port


async def vetted_addresses(host: str, guard: Any) -> list[str]:
    """Resolve ``host`` and vet every address; raises ``TargetRefused`` if any is not public."""
    import asyncio
    import socket

    from nds.standards.checks.api.retrieve import TargetRefused

    guard(host, "")
    try:
        ipaddress.ip_address(host)
        guard(host, host)
        return [host]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"{host} heeft geen adres (A/AAAA)") from None
    addrs = sorted({str(i[4][0]) for i in infos}, key=lambda a: (":" in a, a))
    for a in addrs:
        guard(host, a)
    return addrs


class RateLimiter:
    def __init__(self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW) -> None:
        self.limit, self.window = limit, window
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        q = self.hits[client]
        while q and now - q[0] > self.window:
            q.popleft()
        if len(q) >= self.limit:
            return False
        q.append(now)
        return True


def _engine_of_app(app: Any) -> Any:
    state = app.state
    if getattr(state, "standards_engine", None) is None:
        from nds.standards.store import open_store

        state.standards_engine = open_store(state.settings.resolved_database_url())
    return state.standards_engine


def _engine(request: Request) -> Any:
    state = request.app.state
    if getattr(state, "standards_engine", None) is None:
        from nds.standards.store import open_store

        state.standards_engine = open_store(state.settings.resolved_database_url())
    return state.standards_engine


def _accessibility_of(engine: Any, organisations: set[str]) -> dict[str, Any]:
    """Digitoegankelijk shares for the round's organisations (shown beside the security standards)."""
    from nds.standards import accessibility, store

    rows = [r for r in store.list_accessibility(engine) if r.organisation in organisations]
    return accessibility.summarise(rows)[1] if rows else {}


def bar_chart(items: list[tuple[str, float | None]], width: int = 560) -> dict[str, Any]:
    """Geometry for an inline SVG horizontal bar chart (percentages 0–100); the template draws it."""
    label_w, bar_w, row_h = 220, width - 220 - 50, 22
    bars = []
    for i, (label, pct) in enumerate(items):
        bars.append(
            {
                "label": label,
                "y": i * row_h,
                "w": 0 if pct is None else round(bar_w * pct / 100.0, 1),
                "text": "–" if pct is None else f"{pct:.0f}%",
                "ok": pct is not None and pct >= 80,
            }
        )
    return {
        "width": width,
        "height": max(row_h * len(items), row_h),
        "label_w": label_w,
        "bar_w": bar_w,
        "row_h": row_h,
        "bars": bars,
    }


def register(app: FastAPI) -> None:
    from nds.standards.api_v1 import BASE, make_standards_api

    add_nav(app, "/standaarden", "Standaarden")
    app.mount(BASE, make_standards_api(lambda _request: _engine_of_app(app)))
    app.state.standards_guard = public_only
    app.state.standards_limiter = RateLimiter()

    @app.get("/standaarden", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> HTMLResponse:
        from nds.standards import store

        return render(
            request, "standards/index.html", {"rounds": list(reversed(store.list_rounds(_engine(request))))}
        )

    @app.get("/standaarden/rondes/{round_id}", response_class=HTMLResponse, include_in_schema=False)
    async def round_page(request: Request, round_id: int) -> HTMLResponse:
        from nds.standards import report

        engine = _engine(request)
        try:
            summary = report.summarise(engine, round_id)
        except ValueError:
            return render(
                request, "standards/error.html", {"message": f"Ronde {round_id} bestaat niet."}, 404
            )
        prev = report.previous_round_id(engine, round_id)
        trend = report.trend(summary, report.summarise(engine, prev) if prev is not None else None)
        charts = {
            "overall": bar_chart(
                [(s, summary.overall[s].pct) for s in summary.standards if s in summary.overall]
            ),
        }
        types = {
            t: bar_chart([(s, sh[s].pct) for s in summary.standards if s in sh])
            for t, sh in sorted(summary.by_type.items())
        }
        return render(
            request,
            "standards/round.html",
            {
                "s": summary,
                "trend": trend,
                "prev": prev,
                "charts": charts,
                "types": types,
                "fmt": report.fmt_pct,
                "access": _accessibility_of(engine, set(summary.by_org)),
                # columns of the per-organisation table: standards with at least one counted domain
                "org_standards": [
                    std
                    for std in summary.standards
                    if any(sh.get(std) is not None and sh[std].denominator for sh in summary.by_org.values())
                ],
            },
        )

    @app.get(
        "/standaarden/rondes/{round_id}/organisaties/{organisation:path}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def organisation_page(request: Request, round_id: int, organisation: str) -> HTMLResponse:
        import datetime as dt

        from nds.standards import report, store

        engine = _engine(request)
        try:
            summary = report.summarise(engine, round_id)
        except ValueError:
            return render(
                request, "standards/error.html", {"message": f"Ronde {round_id} bestaat niet."}, 404
            )
        rows = [r for r in summary.rows if r.organisation == organisation]
        if not rows:
            return render(
                request,
                "standards/error.html",
                {"message": f"{organisation} komt niet voor in ronde {round_id}."},
                404,
            )
        today = dt.date.today()
        explained = {
            (e.organisation, e.standard): e.reason
            for e in store.list_explanations(engine)
            if e.organisation == organisation and (e.valid_until is None or e.valid_until >= today)
        }
        kinds = [
            (k, [r for r in rows if r.kind == k]) for k in ("web", "mail") if any(r.kind == k for r in rows)
        ]
        stds = {k: sorted({s for r in rs for s in r.standards}) for k, rs in kinds}
        explained_stds = {
            std
            for std_list in stds.values()
            for std in std_list
            if report.explanation_for(explained, organisation, std) is not None
        }
        return render(
            request,
            "standards/organisation.html",
            {
                "s": summary,
                "org": organisation,
                "kinds": kinds,
                "stds": stds,
                "explained": explained_stds,
                "reasons": sorted((std, reason) for (_o, std), reason in explained.items()),
                "labels": STATUS_NL,
            },
        )

    @app.get("/standaarden/rondes/{round_id}/csv", include_in_schema=False)
    async def round_csv(request: Request, round_id: int) -> Response:
        from nds.standards import report

        try:
            summary = report.summarise(_engine(request), round_id)
        except ValueError:
            return Response("ronde bestaat niet\n", status_code=404, media_type="text/plain; charset=utf-8")
        return Response(
            report.to_csv(summary),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="ronde-{round_id}.csv"'},
        )

    @app.get("/standaarden/toegankelijkheid", response_class=HTMLResponse, include_in_schema=False)
    async def accessibility_page(request: Request) -> HTMLResponse:
        from nds.standards import accessibility, report, store

        overall, per_org = accessibility.summarise(store.list_accessibility(_engine(request)))
        chart = bar_chart([(o, s.pct_compliant) for o, s in sorted(per_org.items())])
        return render(
            request,
            "standards/accessibility.html",
            {
                "overall": overall,
                "per_org": sorted(per_org.items()),
                "statuses": accessibility.STATUSES,
                "chart": chart,
                "fmt": report.fmt_pct,
            },
        )

    @app.get("/standaarden/zelftest", response_class=HTMLResponse, include_in_schema=False)
    async def selfcheck_form(request: Request) -> HTMLResponse:
        return render(request, "standards/selfcheck.html", {"url": "", "report": None, "error": None})

    @app.post("/standaarden/zelftest", response_class=HTMLResponse, include_in_schema=False)
    async def selfcheck(
        request: Request, url: str = Form(""), soort: str = Form("api"), versie: str = Form("2.1.0")
    ) -> HTMLResponse:
        from nds.standards.checks.api.retrieve import TargetRefused

        client = request.client.host if request.client else "onbekend"
        ctx: dict[str, Any] = {"url": url, "soort": soort, "report": None, "error": None}
        if not app.state.standards_limiter.allow(client):
            ctx["error"] = "Te veel zelftests vanaf uw adres. Probeer het over een minuut opnieuw."
            return render(request, "standards/selfcheck.html", ctx, 429)
        url = url.strip()
        if soort not in ("api", "web", "mail") or not url or len(url) > 2000:
            ctx["error"] = "Kies wat u wilt testen en geef een URL of domeinnaam."
            return render(request, "standards/selfcheck.html", ctx, 400)
        guard = app.state.standards_guard
        try:
            rep = await _run_selfcheck(soort, url, versie, guard)
        except ValueError as exc:
            ctx["error"] = str(exc)
            return render(request, "standards/selfcheck.html", ctx, 400)
        except (TargetRefused, RefusedTarget) as exc:
            ctx["error"] = f"Dit doel testen we niet: {exc}."
            return render(request, "standards/selfcheck.html", ctx, 400)
        ctx["report"] = rep
        ctx["standards"] = rep.standards()
        return render(request, "standards/selfcheck.html", ctx)


async def _run_selfcheck(kind: str, target: str, version: str, guard: Any) -> Any:
    """One self-check with the guard applied to names, DNS answers, redirects and every connection."""
    import importlib

    from nds.standards.checks.api.rules.catalog import parse_version
    from nds.standards.checks.api.run import check_api
    from nds.standards.rounds import normalise_domain

    if kind == "api":
        if not target.startswith(("http://", "https://")):
            raise ValueError("Geef een volledige URL die begint met https:// (of http://).")
        return await check_api(
            target, NetworkConfig(timeout=8.0, retries=1), parse_version(version), guard=guard
        )
    name = normalise_domain(target)
    if kind == "web":
        addrs = await vetted_addresses(name, guard)
        pins = (ConnectTo(name, 443, addrs[0], 443), ConnectTo(name, 80, addrs[0], 80))
        net = GuardedNet(connect_to=pins, timeout=8.0, retries=1, guard=guard)
        mod = importlib.import_module("nds.standards.checks.web.run")
        return await mod.check_web(name, net, "ncsc-2025-05")
    guard(name, "")
    net = GuardedNet(timeout=8.0, retries=1, guard=guard)
    mod = importlib.import_module("nds.standards.checks.mail.run")
    return await mod.check_mail(name, net, "ncsc-2025-05")
