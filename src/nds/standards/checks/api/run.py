"""``check_api``: retrieve, lint and evaluate one API; returns a ``Report``."""

from __future__ import annotations

from nds.standards.checks.api.lint import evaluate
from nds.standards.checks.api.retrieve import Guard, observe_api
from nds.standards.checks.api.rules.catalog import DEFAULT_VERSION
from nds.standards.checks.api.runtime import evaluate_runtime
from nds.standards.model import Report, TestResult
from nds.standards.net import NetworkConfig


def merge(lint_results: list[TestResult], runtime_results: list[TestResult]) -> list[TestResult]:
    """One verdict per id: the runtime verdict and the linter verdict of the same rule combine (worst)."""
    from nds.standards.model import worst

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


async def _tls_verdict(base_url: str, net: NetworkConfig, guard: Guard | None) -> TestResult | None:
    """Seam for the NCSC TLS evaluation of the web checks (``nds.standards.checks.tls``).

    Returns None while no TLS evaluation entry point is available; the TLS verdict is then
    ``good_not_tested`` ("HTTPS with a trusted certificate, configuration not evaluated").
    """
    return None
