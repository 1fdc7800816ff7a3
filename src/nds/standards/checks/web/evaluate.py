"""Pure evaluation of the website facts: HTTPS, redirect, HSTS, HTTP compression, CAA.

Security headers and security.txt live in ``headers.py`` and ``securitytxt.py``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from nds.standards.checks.tls.retrieve import TlsFacts
from nds.standards.checks.web.retrieve import HttpFacts, Response
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult
from nds.standards.policy import Profile

HTTPS = "https"
HSTS_MIN_AGE = 31_536_000

HTTPS_AVAILABLE = SUBTESTS.declare(
    Subtest(
        "https.available",
        HTTPS,
        Status.FAILED,
        "HTTPS available",
        "Besluit beveiligde verbinding met overheidswebsites (Stb. 2023, 179) art. 2; "
        "internet.nl HTTPS available",
    )
)
HTTPS_REDIRECT = SUBTESTS.declare(
    Subtest(
        "https.redirect",
        HTTPS,
        Status.FAILED,
        "HTTP redirects to HTTPS on the same host",
        "Besluit beveiligde verbinding met overheidswebsites (Stb. 2023, 179) art. 2 onderdeel b; "
        "NCSC ICT-beveiligingsrichtlijnen "
        "voor webapplicaties",
    )
)
HTTPS_HSTS = SUBTESTS.declare(
    Subtest(
        "https.hsts",
        HTTPS,
        Status.FAILED,
        "HSTS",
        "RFC 6797 §6.1; internet.nl: max-age of at least one year (31536000 s) on the first HTTPS response",
    )
)
HTTP_COMPRESSION = SUBTESTS.declare(
    Subtest(
        "http.compression",
        HTTPS,
        Status.INFO,
        "HTTP compression",
        "NCSC TLS guidelines: compression (application level: sufficient, BREACH)",
    )
)
CERT_CAA = SUBTESTS.declare(
    Subtest("cert.caa", HTTPS, Status.WARNING, "CAA records", "RFC 8659 §3; internet.nl CAA (notice)")
)


def https_available(f: TlsFacts) -> TestResult:
    if f.reachable and f.versions:
        how = f.negotiated or f"{f.versions[0]}; a modern client could not complete the handshake: {f.error}"
        return TestResult(
            HTTPS_AVAILABLE.id,
            Status.PASSED,
            f"HTTPS available ({how})",
            HTTPS_AVAILABLE.clause,
            target=f.address,
        )
    why = f.error or ("no TLS handshake succeeded" if f.reachable else "port 443 not reachable")
    return TestResult(
        HTTPS_AVAILABLE.id,
        Status.FAILED,
        f"HTTPS not available: {why}",
        HTTPS_AVAILABLE.clause,
        "Serve the site over HTTPS (TLS) on port 443 on every address.",
        f.address,
    )


def https_redirect(h: HttpFacts, host: str) -> TestResult:
    """http://host/ must either be closed or redirect to https://host/ before any other host."""
    sub = HTTPS_REDIRECT
    if h.http_error:
        return TestResult(
            sub.id,
            Status.PASSED,
            "no plain HTTP offered (port 80 closed)",
            sub.clause,
            target=h.address,
            facts={"http_error": h.http_error},
        )
    hops = [r.url for r in h.http_chain]
    for r in h.http_chain:
        if not (300 <= r.status < 400):
            return TestResult(
                sub.id,
                Status.FAILED,
                f"http://{host}/ answers HTTP {r.status} over plain HTTP without redirecting to HTTPS",
                sub.clause,
                "Redirect every plain-HTTP request to https://" + host + "/ (301).",
                h.address,
                {"hops": hops},
            )
        loc = r.header("location")
        target = urlsplit(loc[0].strip()) if loc else None
        if target is None:
            break
        nxt_host = (target.hostname or host).lower().rstrip(".")
        if nxt_host != host:
            return TestResult(
                sub.id,
                Status.FAILED,
                f"redirects to another host ({nxt_host}) before HTTPS on {host}",
                sub.clause,
                f"First redirect http://{host}/ to https://{host}/, then to other hosts.",
                h.address,
                {"hops": [*hops, loc[0]]},
            )
        if target.scheme == "https" or (not target.scheme and r.url.startswith("https:")):
            return TestResult(
                sub.id,
                Status.PASSED,
                f"redirects to HTTPS on {host}",
                sub.clause,
                target=h.address,
                facts={"hops": [*hops, loc[0]]},
            )
    return TestResult(
        sub.id,
        Status.FAILED,
        "plain HTTP does not lead to HTTPS on the same host",
        sub.clause,
        "Redirect every plain-HTTP request to https://" + host + "/ (301).",
        h.address,
        {"hops": hops},
    )


_DIRECTIVE = re.compile(r'^\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^\s;]*))?\s*$')


def parse_hsts(value: str) -> dict[str, str | None] | None:
    """RFC 6797 §6.1 directives; None when malformed (duplicate directive, bad token, no max-age)."""
    out: dict[str, str | None] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        m = _DIRECTIVE.match(part)
        if not m:
            return None
        name = m.group(1).lower()
        if name in out:
            return None
        val = m.group(2)
        if val is not None and val.startswith('"'):
            val = val[1:-1]
        out[name] = val
    age = out.get("max-age")
    if age is None or not age.isdigit():
        return None
    return out


def https_hsts(h: HttpFacts) -> TestResult:
    sub = HTTPS_HSTS
    if not h.https_chain or h.https_error:
        return TestResult(
            sub.id, Status.FAILED, "no HTTPS response to read HSTS from", sub.clause, target=h.address
        )
    first: Response = h.https_chain[0]
    values = first.header("strict-transport-security")
    fix = f"Send Strict-Transport-Security: max-age={HSTS_MIN_AGE} (or more) on every HTTPS response."
    if not values:
        return TestResult(
            sub.id,
            Status.FAILED,
            "no Strict-Transport-Security header on the first HTTPS response",
            sub.clause,
            fix,
            h.address,
        )
    parsed = parse_hsts(values[0])  # RFC 6797 §8.1: only the first header field is processed
    if parsed is None:
        return TestResult(
            sub.id,
            Status.FAILED,
            f"malformed Strict-Transport-Security header: {values[0]!r}",
            "RFC 6797 §6.1",
            fix,
            h.address,
            {"header": values[0]},
        )
    age = int(parsed["max-age"] or 0)
    facts = {
        "max_age": age,
        "include_subdomains": "includesubdomains" in parsed,
        "preload": "preload" in parsed,
    }
    if age < HSTS_MIN_AGE:
        return TestResult(
            sub.id,
            Status.FAILED,
            f"HSTS max-age {age} s is shorter than one year ({HSTS_MIN_AGE} s)",
            sub.clause,
            fix,
            h.address,
            facts,
        )
    return TestResult(
        sub.id, Status.PASSED, f"HSTS max-age {age} s", sub.clause, target=h.address, facts=facts
    )


def http_compression(h: HttpFacts, p: Profile) -> TestResult:
    sub = HTTP_COMPRESSION
    used = bool(h.content_encoding and h.content_encoding != "identity")
    rating = p.http_compression[used]
    if not used:
        return TestResult(
            sub.id,
            Status.PASSED,
            "no HTTP compression",
            rating.clause,
            target=h.address,
            facts={"profile": p.name},
        )
    return TestResult(
        sub.id,
        Status.INFO,
        f"HTTP compression ({h.content_encoding}) is used: consider BREACH for pages with secrets",
        rating.clause,
        "",
        h.address,
        {"profile": p.name},
    )


def caa(records: list[str] | None, zone: str | None, error: str | None = None) -> TestResult:
    """``records``: CAA presentation strings found at the closest ancestor that has any (RFC 8659 §3)."""
    sub = CERT_CAA
    if error:
        return TestResult(sub.id, Status.NOT_TESTED, f"CAA lookup failed: {error}", sub.clause)
    if not records:
        return TestResult(
            sub.id,
            Status.WARNING,
            "no CAA records: any CA may issue certificates",
            sub.clause,
            'Publish CAA records naming the CAs you use (e.g. 0 issue "letsencrypt.org").',
        )
    issue = [r for r in records if re.match(r"^\d+\s+issue(wild)?\s", r)]
    bad = [r for r in records if not re.match(r'^\d+\s+[A-Za-z0-9]+\s+".*"$', r)]
    if bad:
        return TestResult(
            sub.id,
            Status.WARNING,
            f"malformed CAA records: {', '.join(bad)}",
            sub.clause,
            "Correct the CAA records (RFC 8659 §4).",
            facts={"zone": zone, "records": records},
        )
    if not issue:
        return TestResult(
            sub.id,
            Status.WARNING,
            "CAA records without an issue property",
            sub.clause,
            "Add an issue property naming your CA.",
            facts={"zone": zone, "records": records},
        )
    return TestResult(
        sub.id,
        Status.PASSED,
        f"CAA at {zone}: {', '.join(records)}",
        sub.clause,
        facts={"zone": zone, "records": records},
    )
