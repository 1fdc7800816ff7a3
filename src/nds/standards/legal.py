"""The legal HTTPS verdict under the Wet digitale overheid.

*Besluit beveiligde verbinding met overheidswebsites en -webapplicaties* (Stb. 2023, 179), art. 2:
bestuursorganen secure their publicly accessible websites and web applications with HTTPS and HSTS, where
(a) the standards are configured with settings that the TLS guidelines **v2.1.1** rate "voldoende"
(sufficient)
or "goed" (good), and (b) a visitor is redirected to the HTTPS version on the visited domain name before being
sent to other domain names.

This is deliberately not internet.nl's verdict: a *phase out* setting is a mere warning there but means
"not voldoende or goed", so non-compliant here; internet.nl's extra rules (HSTS max-age of one year, security
headers, security.txt, CAA, OCSP) are not law and are ignored. The verdict is always computed under
``ncsc-2.1.1``, whatever profile the report uses. Whether the site belongs to a bestuursorgaan and is
publicly accessible is for the caller to know; the verdict says what the law would require if it does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nds.standards.checks.web.evaluate import parse_hsts
from nds.standards.model import Status, TestResult
from nds.standards.policy import LEGAL_PROFILE

INSTRUMENT = "Besluit beveiligde verbinding met overheidswebsites en -webapplicaties (Stb. 2023, 179)"
ART2 = f"{INSTRUMENT}, art. 2 (HTTPS en HSTS)"
ART2A = f"{INSTRUMENT}, art. 2, onderdeel a (TLS-richtlijnen 2.1.1: voldoende of goed)"
ART2B = f"{INSTRUMENT}, art. 2, onderdeel b (eerst naar HTTPS op de bezochte domeinnaam)"

# The TLS-guideline settings art. 2(a) covers. cert.trust / cert.hostname are part of HTTPS itself (RFC 9110
# §4.3.4: the certificate must be valid for the host) and therefore of the art. 2 aanhef.
TLS_SUBTESTS = (
    "tls.version",
    "tls.ciphers",
    "tls.cipher_order",
    "tls.key_exchange",
    "tls.kex_hash",
    "tls.compression",
    "tls.renegotiation",
    "tls.client_renegotiation",
    "tls.zero_rtt",
    "tls.ems",
    "tls.ocsp_stapling",
    "cert.pubkey",
    "cert.signature",
)
HTTPS_SUBTESTS = ("https.available", "cert.trust", "cert.hostname")
NOT_SUFFICIENT = {"phase_out", "insufficient"}


def _levels(r: TestResult) -> list[str]:
    facts = r.facts or {}
    if "level" in facts:
        return [str(facts["level"])]
    levels = facts.get("levels")
    if isinstance(levels, dict):
        return [str(v) for v in levels.values()]
    return []


def _bad_items(r: TestResult) -> list[str]:
    levels = (r.facts or {}).get("levels")
    if isinstance(levels, dict):
        return [k for k, v in levels.items() if v in NOT_SUFFICIENT]
    return []


def https_verdict(results_2_1_1: Iterable[TestResult], hsts_headers: dict[str, str | None]) -> dict[str, Any]:
    """``results_2_1_1``: web subtests evaluated under ``ncsc-2.1.1``; ``hsts_headers``: per address the
    first Strict-Transport-Security value on the first HTTPS response (None if absent)."""
    reasons: list[dict[str, str]] = []
    undetermined: list[str] = []
    for r in results_2_1_1:
        where = f" ({r.target})" if r.target else ""
        if r.id in HTTPS_SUBTESTS and r.status is Status.FAILED:
            reasons.append({"clause": ART2, "detail": f"{r.id}{where}: {r.detail}"})
        elif r.id in TLS_SUBTESTS:
            levels = _levels(r)
            if any(lv in NOT_SUFFICIENT for lv in levels):
                reasons.append(
                    {
                        "clause": ART2A,
                        "detail": f"{r.id}{where}: {r.detail}",
                        "items": ", ".join(_bad_items(r)),
                    }
                )
            elif r.status in (Status.ERROR, Status.NOT_TESTED) and r.id != "tls.client_renegotiation":
                undetermined.append(f"{r.id}{where}")
        elif r.id == "https.redirect" and r.status is Status.FAILED:
            reasons.append({"clause": ART2B, "detail": f"{r.id}{where}: {r.detail}"})
    for address, value in sorted(hsts_headers.items()):
        parsed = parse_hsts(value) if value is not None else None
        if value is None:
            reasons.append({"clause": ART2, "detail": f"no HSTS header ({address})"})
        elif parsed is None:
            reasons.append({"clause": ART2, "detail": f"malformed HSTS header ({address}): {value!r}"})
        elif int(parsed["max-age"] or 0) == 0:
            reasons.append({"clause": ART2, "detail": f"HSTS max-age=0 switches HSTS off ({address})"})
    if reasons:
        verdict = "non_compliant"
    elif undetermined or not hsts_headers:
        verdict = "undetermined"
    else:
        verdict = "compliant"
    out: dict[str, Any] = {
        "instrument": INSTRUMENT,
        "profile": LEGAL_PROFILE,
        "verdict": verdict,
        "reasons": reasons,
        "applies_to": "publicly accessible websites and web applications of bestuursorganen "
        "(Awb art. 1:1 lid 1 onder a)",
    }
    if undetermined:
        out["undetermined"] = undetermined
    return out
