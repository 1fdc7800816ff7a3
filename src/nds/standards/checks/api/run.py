"""``check_api``: retrieve, lint and evaluate one API; returns a ``Report``."""

from __future__ import annotations

from nds.standards.checks.api.lint import evaluate
from nds.standards.checks.api.retrieve import Guard, observe_api
from nds.standards.checks.api.rules.catalog import DEFAULT_VERSION
from nds.standards.checks.api.runtime import evaluate_runtime
from nds.standards.model import Report, Status, TestResult, worst
from nds.standards.net import NetworkConfig


def merge(lint_results: list[TestResult], runtime_results: list[TestResult]) -> list[TestResult]:
    """One verdict per id: the runtime verdict and the linter verdict of the same rule combine (worst)."""
    by_id: dict[str, TestResult] = {}
    order: list[str] = []
    for r in [*lint_results, *runtime_results]:
        if r.id not in by_id:
            by_id[r.id] = r
            order.append(r.id)
            continue
        old = by_id[r.id]
        status = worst([old.status, r.status])
        details = [x.detail for x in (old, r) if x.status is status] or [r.detail]
        facts = {**old.facts, **r.facts}
        facts["findings"] = old.facts.get("findings", []) + r.facts.get("findings", [])
        by_id[r.id] = TestResult(
            r.id,
            status,
            "; ".join(d for d in details if d != "no findings") or "no findings",
            r.clause,
            fix=r.fix or old.fix,
            facts=facts,
        )
    return [by_id[i] for i in order]


async def check_api(
    url: str,
    net: NetworkConfig | None = None,
    rules_version: str = DEFAULT_VERSION,
    guard: Guard | None = None,
) -> Report:
    net = net or NetworkConfig()
    obs = await observe_api(url, net, guard)
    lint_results = evaluate(obs.doc, rules_version) if obs.doc is not None else []
    tls = await _tls_verdict(obs.base_url, net, guard)
    results = merge(lint_results, evaluate_runtime(obs, rules_version, tls))
    return Report(target=url, profile=f"adr-{rules_version}", tests=results)


#: The API rule /core/transport/tls says "follow the latest NCSC guidelines".
TLS_PROFILE = "ncsc-2025-05"
MAX_TLS_ADDRESSES = 2


async def _tls_verdict(base_url: str, net: NetworkConfig, guard: Guard | None) -> TestResult | None:
    """The NCSC TLS evaluation of the API host, from the web checks' TLS family when installed.

    Scans at most ``MAX_TLS_ADDRESSES`` addresses of the host (each vetted by ``guard``) and folds
    the counted TLS and certificate subtests into one verdict. Returns None when the TLS family is
    not available or the API is not on HTTPS; the TLS rule is then judged on HTTPS alone.
    """
    from urllib.parse import urlsplit

    try:
        from nds.standards.checks.tls import evaluate as tls_eval
        from nds.standards.checks.tls.retrieve import scan_address
        from nds.standards.policy import get_profile
    except ImportError:
        return None
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    host, port = parts.hostname, parts.port or 443
    addrs = await _addresses(host, port, net)
    if not addrs:
        return None
    profile = get_profile(TLS_PROFILE)
    results: list[TestResult] = []
    for addr, aport in addrs[:MAX_TLS_ADDRESSES]:
        if guard is not None:
            guard(host, addr)
        facts = await scan_address(
            addr, aport, host, timeout=net.timeout, ca_file=str(net.ca_file) if net.ca_file else None
        )
        if not facts.reachable:
            results.append(TestResult("tls.version", Status.ERROR, f"{addr}: {facts.error}", "", target=addr))
            continue
        results += tls_eval.evaluate_tls(facts, profile) + tls_eval.evaluate_cert(facts, host, profile)
    counted = [r for r in results if r.id in _counted_ids()]
    status = worst(r.status for r in counted) if counted else Status.NOT_TESTED
    bad = [
        f"{r.id}{' (' + r.target + ')' if r.target else ''}: {r.status.value}"
        for r in counted
        if r.status not in (Status.PASSED, Status.INFO, Status.NOT_APPLICABLE)
    ]
    detail = f"{TLS_PROFILE}: " + ("; ".join(bad[:8]) if bad else "all TLS and certificate subtests pass")
    return TestResult(
        "tls",
        status,
        detail,
        f"NCSC TLS ({TLS_PROFILE})",
        facts={"subtests": {f"{r.id}@{r.target}": r.status.value for r in results}},
    )


def _counted_ids() -> set[str]:
    from nds.standards.model import SUBTESTS

    return {s.id for s in SUBTESTS.all() if s.counts and s.id.startswith(("tls.", "cert."))}


async def _addresses(host: str, port: int, net: NetworkConfig) -> list[tuple[str, int]]:
    import asyncio
    import ipaddress
    import socket

    routed = net.route(host, port)
    if routed is not None:
        return [routed]
    try:
        ipaddress.ip_address(host)
        return [(host, port)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({(str(i[4][0]), port) for i in infos})
