"""Security headers: X-Content-Type-Options, X-Frame-Options, Content-Security-Policy, Referrer-Policy.

Levels as internet.nl: X-Frame-Options is info, the others notice (``warning``); none counts for a score.
Headers are read from the final same-host HTTPS response of ``https://host/``.
"""

from __future__ import annotations

import re

from nds.standards.checks.web.retrieve import HttpFacts, Response
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult

STD = "security_options"
XCTO = SUBTESTS.declare(
    Subtest(
        "headers.x_content_type_options",
        STD,
        Status.WARNING,
        "X-Content-Type-Options",
        "WHATWG Fetch §X-Content-Type-Options; internet.nl (notice)",
    )
)
XFO = SUBTESTS.declare(
    Subtest("headers.x_frame_options", STD, Status.INFO, "X-Frame-Options", "RFC 7034; internet.nl (info)")
)
CSP = SUBTESTS.declare(
    Subtest(
        "headers.csp",
        STD,
        Status.WARNING,
        "Content-Security-Policy",
        "W3C CSP Level 3; internet.nl CSP rules (notice)",
    )
)
REFERRER = SUBTESTS.declare(
    Subtest(
        "headers.referrer_policy",
        STD,
        Status.WARNING,
        "Referrer-Policy",
        "W3C Referrer Policy §3; internet.nl (notice)",
    )
)


def final_response(h: HttpFacts) -> Response | None:
    ok = [r for r in h.https_chain if not r.error]
    return ok[-1] if ok else None


def x_content_type_options(r: Response, target: str) -> TestResult:
    values = r.header("x-content-type-options")
    if values and values[0].strip().lower() == "nosniff":
        return TestResult(
            XCTO.id, Status.PASSED, "X-Content-Type-Options: nosniff", XCTO.clause, target=target
        )
    got = f" (got {values[0]!r})" if values else ""
    return TestResult(
        XCTO.id,
        Status.WARNING,
        f"X-Content-Type-Options: nosniff missing{got}",
        XCTO.clause,
        "Send X-Content-Type-Options: nosniff.",
        target,
    )


def x_frame_options(r: Response, target: str, csp: dict[str, list[str]] | None) -> TestResult:
    values = r.header("x-frame-options")
    v = values[0].strip().upper() if values else ""
    if v in ("DENY", "SAMEORIGIN"):
        return TestResult(XFO.id, Status.PASSED, f"X-Frame-Options: {v}", XFO.clause, target=target)
    if csp and "frame-ancestors" in csp:
        return TestResult(
            XFO.id, Status.PASSED, "framing governed by CSP frame-ancestors", XFO.clause, target=target
        )
    got = f" (got {values[0]!r})" if values else ""
    return TestResult(
        XFO.id,
        Status.INFO,
        f"X-Frame-Options DENY or SAMEORIGIN missing{got}",
        XFO.clause,
        "Send X-Frame-Options: DENY (or SAMEORIGIN), or CSP frame-ancestors.",
        target,
    )


_GOOD_REFERRER = {"no-referrer", "same-origin"}
_OK_REFERRER = {"strict-origin", "strict-origin-when-cross-origin"}
_REFERRER_TOKENS = (
    _GOOD_REFERRER
    | _OK_REFERRER
    | {"no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "unsafe-url"}
)


def referrer_policy(r: Response, target: str) -> TestResult:
    values = r.header("referrer-policy")
    tokens = [t.strip().lower() for v in values for t in v.split(",") if t.strip()]
    known = [t for t in tokens if t in _REFERRER_TOKENS]
    fix = "Send Referrer-Policy: no-referrer or same-origin."
    if not known:
        return TestResult(
            REFERRER.id, Status.WARNING, "no (valid) Referrer-Policy", REFERRER.clause, fix, target
        )
    policy = known[-1]  # the last recognised token wins (Referrer Policy §8.1)
    if policy in _GOOD_REFERRER:
        return TestResult(
            REFERRER.id, Status.PASSED, f"Referrer-Policy: {policy}", REFERRER.clause, target=target
        )
    if policy in _OK_REFERRER:
        return TestResult(
            REFERRER.id,
            Status.PASSED,
            f"Referrer-Policy: {policy} (acceptable; no-referrer or same-origin recommended)",
            REFERRER.clause,
            target=target,
        )
    return TestResult(
        REFERRER.id,
        Status.WARNING,
        f"Referrer-Policy: {policy} leaks URLs to other sites",
        REFERRER.clause,
        fix,
        target,
    )


def parse_csp(value: str) -> dict[str, list[str]]:
    """One serialized policy: directive -> source list (first occurrence wins, CSP3 §2.2.1)."""
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        tokens = part.strip().split()
        if not tokens:
            continue
        name = tokens[0].lower()
        if re.fullmatch(r"[a-z0-9-]+", name) and name not in out:
            out[name] = tokens[1:]
    return out


_REQUIRED = ("default-src", "frame-ancestors", "base-uri", "form-action")
_UNSAFE = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"}
_LOCAL = re.compile(r"^(https?://)?(127\.|localhost|\[::1\])", re.I)


def csp_problems(policy: dict[str, list[str]]) -> list[str]:
    """internet.nl's CSP rules, each problem as a sentence."""
    problems = [f"{d} missing" for d in _REQUIRED if d not in policy]
    if "frame-src" not in policy and "child-src" not in policy and "default-src" not in policy:
        problems.append("frame-src (or default-src) missing")
    for d, sources in policy.items():
        if not d.endswith("-src") and d not in ("base-uri", "form-action", "frame-ancestors"):
            continue
        lowered = [s.lower() for s in sources]
        for s in lowered:
            if s in _UNSAFE:
                problems.append(f"{d} allows {s}")
            elif s in ("http:", "https:", "*") or s.startswith("http://"):
                problems.append(
                    f"{d} allows any host via {s}"
                    if s != "http:" and not s.startswith("http://")
                    else f"{d} allows plain-HTTP sources ({s})"
                )
            elif _LOCAL.match(s):
                problems.append(f"{d} allows a local address ({s})")
            elif re.match(r"^(https?://)?\*\.[^.]+$", s):
                problems.append(f"{d} allows a wildcard over a whole top-level domain ({s})")
    for d in ("script-src", "object-src"):
        effective = policy.get(d, policy.get("default-src", []))
        if "data:" in [s.lower() for s in effective]:
            problems.append(f"{d} allows data: URLs")
    base = [s.lower() for s in policy.get("default-src", [])]
    if (
        base
        and base != ["'none'"]
        and "'self'" not in base
        and all(s.startswith("'nonce-") or s.startswith("'sha") for s in base)
    ):
        problems.append("default-src should be 'self' or 'none'")
    return problems


def csp(r: Response, target: str) -> tuple[TestResult, dict[str, list[str]] | None]:
    values = r.header("content-security-policy")
    fix = (
        "Send a Content-Security-Policy with at least default-src 'self', frame-ancestors 'self', "
        "base-uri 'self' and form-action 'self', without 'unsafe-inline'/'unsafe-eval'."
    )
    if not values:
        only_ro = (
            " (only Content-Security-Policy-Report-Only, which enforces nothing)"
            if r.header("content-security-policy-report-only")
            else ""
        )
        return TestResult(
            CSP.id, Status.WARNING, f"no Content-Security-Policy{only_ro}", CSP.clause, fix, target
        ), None
    policy = parse_csp(values[0].split(",")[0])
    problems = csp_problems(policy)
    facts = {"policy": values[0][:2000]}
    if problems:
        return TestResult(
            CSP.id, Status.WARNING, "CSP too weak: " + "; ".join(problems), CSP.clause, fix, target, facts
        ), policy
    return TestResult(
        CSP.id,
        Status.PASSED,
        "CSP sets default-src, frame-ancestors, base-uri and form-action without unsafe sources",
        CSP.clause,
        target=target,
        facts=facts,
    ), policy


def evaluate_headers(h: HttpFacts) -> list[TestResult]:
    r = final_response(h)
    if r is None:
        return [
            TestResult(s.id, Status.NOT_TESTED, "no HTTPS response", s.clause, target=h.address)
            for s in (XCTO, XFO, CSP, REFERRER)
        ]
    csp_result, policy = csp(r, h.address)
    return [
        x_content_type_options(r, h.address),
        x_frame_options(r, h.address, policy),
        csp_result,
        referrer_policy(r, h.address),
    ]
