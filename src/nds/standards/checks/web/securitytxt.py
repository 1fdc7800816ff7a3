"""security.txt (RFC 9116) with the ``sectxt`` parser, as internet.nl checks it (notice level).

security.txt is on the comply-or-explain list, so this notice-level subtest decides the standard.

Retrieval tries ``/.well-known/security.txt`` first and ``/security.txt`` second, over HTTPS only.
Transport rules (HTTPS, location, ``text/plain; charset=utf-8``) are judged here; the file's content
(Contact, Expires in the future, syntax, signature) by ``sectxt.Parser``.
"""

from __future__ import annotations

from email.message import Message

from sectxt import Parser

from nds.standards.checks.web.retrieve import HttpFacts
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult

SECURITY_TXT = SUBTESTS.declare(
    Subtest(
        "security_txt",
        "security_txt",
        Status.WARNING,
        "security.txt",
        "RFC 9116 §3; internet.nl security.txt (notice); Forum Standaardisatie pas-toe-of-leg-uit-lijst "
        "(security.txt opgenomen 25 mei 2023)",
        # internet.nl shows a missing or invalid file as a notice; for the comply-or-explain list this
        # subtest *is* the standard, so it decides it (a warning here is "not passed" in reports).
        decisive=True,
    )
)
WELL_KNOWN = "/.well-known/security.txt"


def evaluate_security_txt(h: HttpFacts, host: str) -> TestResult:
    sub = SECURITY_TXT
    fix = (
        f"Publish https://{host}{WELL_KNOWN} as text/plain; charset=utf-8 with at least Contact: and an "
        "Expires: date less than a year ahead."
    )
    found = [r for r in h.security_txt if r.status == 200 and not r.error]
    if not found:
        statuses = ", ".join(f"{r.url} -> {r.error or r.status}" for r in h.security_txt) or "no HTTPS"
        return TestResult(sub.id, Status.WARNING, f"no security.txt ({statuses})", sub.clause, fix, h.address)
    r = found[0]
    errors: list[str] = []
    requested = r.first_url or r.url
    if not requested.endswith(WELL_KNOWN):
        errors.append("served at the legacy /security.txt instead of /.well-known/security.txt (RFC 9116 §3)")
    elif r.first_url and not r.url.endswith("/security.txt"):
        errors.append(f"{requested} redirects to {r.url}, which is not a security.txt")
    ctype = r.header("content-type")
    if not ctype:
        errors.append("no Content-Type header")
    else:
        m = Message()
        m["content-type"] = ctype[0]
        if m.get_content_type() != "text/plain":
            errors.append(f"Content-Type is {m.get_content_type()}, not text/plain")
        charset = m.get_param("charset") or "utf-8"
        if str(charset).lower() not in ("utf-8", "csutf8"):
            errors.append(f"charset is {charset}, not utf-8")
    parsed = Parser(r.body, urls=[u for u in (r.first_url, r.url) if u])  # Canonical may name either
    errors += [f"line {e['line']}: {e['message']}" if e.get("line") else e["message"] for e in parsed.errors]
    facts = {
        "url": r.url,
        **({"requested": r.first_url} if r.first_url else {}),
        "errors": [e["code"] for e in parsed.errors],
        "recommendations": [e["code"] for e in parsed.recommendations],
    }
    if errors:
        return TestResult(
            sub.id,
            Status.WARNING,
            "security.txt invalid: " + "; ".join(errors),
            sub.clause,
            fix,
            h.address,
            facts,
        )
    return TestResult(
        sub.id, Status.PASSED, f"valid security.txt at {r.url}", sub.clause, target=h.address, facts=facts
    )
