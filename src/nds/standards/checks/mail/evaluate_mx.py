"""Pure evaluation of the mail transport facts: MX state, STARTTLS, TLS for mail, DANE.

Standards and their subtests:
- ``starttls``: ``mail.starttls`` per MX address (``mail.mx`` is the MX state, notice level);
- ``starttls_ncsc``: the NCSC TLS subtests per MX address, ids ``mail.tls.*`` and ``mail.cert.*``,
  with internet.nl's mail rules (no OCSP, no 0-RTT; certificate trust and host name info only);
- ``dane``: ``mail.dane_exists`` and ``mail.dane`` (valid) per MX, ``mail.dane_rollover`` (info).
"""

from __future__ import annotations

from typing import Any

from nds.standards.checks.dns.resolver import DnssecStatus, Lookup
from nds.standards.checks.mail import dane
from nds.standards.checks.mail.retrieve import MailFacts, MxHost, Probe
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult

C_MX = "RFC 5321 §5.1 (MX, implicit MX); RFC 7505 §3 (null MX)"
C_STARTTLS = "RFC 3207 §4 (STARTTLS); Forum Standaardisatie STARTTLS en DANE"
C_DANE = "RFC 7672 §2.2 (TLSA must be DNSSEC-secure), §3.1 (usages 2/3 on port 25)"
C_DANE_ROLL = "RFC 7671 §8.1 (TLSA key rollover); internet.nl rollover scheme"

_d = SUBTESTS.declare
_d(Subtest("mail.mx", "starttls", Status.WARNING, "Mail servers (MX) or null MX published", C_MX))
_d(Subtest("mail.starttls", "starttls", Status.FAILED, "STARTTLS available on every MX", C_STARTTLS))
_d(Subtest("mail.dane_exists", "dane", Status.FAILED, "DANE TLSA record exists (DNSSEC-secure)", C_DANE))
_d(Subtest("mail.dane", "dane", Status.FAILED, "DANE TLSA record matches the certificate chain", C_DANE))
_d(Subtest("mail.dane_rollover", "dane", Status.INFO, "DANE rollover scheme", C_DANE_ROLL))

# internet.nl mail: certificate trust and host name are info-only (DANE authenticates mail servers).
_INFO_ONLY = {"cert.trust", "cert.hostname"}
_DROPPED = {"tls.zero_rtt", "tls.ocsp_stapling"}
_mail_ids: dict[str, str] = {}


def _mail_subtest(web_id: str) -> str:
    """The mail twin of a web TLS/cert subtest: same rule, standard ``starttls_ncsc``."""
    if web_id not in _mail_ids:
        web = SUBTESTS.get(web_id)
        worst = Status.INFO if web_id in _INFO_ONLY else web.worst_status
        mid = "mail." + web_id
        _d(Subtest(mid, "starttls_ncsc", worst, web.title + " (mail)", web.clause))
        _mail_ids[web_id] = mid
    return _mail_ids[web_id]


def _declare_mail_tls() -> None:
    try:
        from nds.standards.checks.tls import evaluate as tls_eval  # noqa: F401  (declares tls.*/cert.*)
    except ImportError:  # pragma: no cover - the TLS package is part of nds
        return
    for st in SUBTESTS.all():
        if (st.id.startswith("tls.") or st.id.startswith("cert.")) and st.id not in _DROPPED:
            _mail_subtest(st.id)


_declare_mail_tls()


def evaluate_mx_state(f: MailFacts) -> TestResult:
    facts = {"mx": list(f.mx.records)}
    if f.mx.rcode == "NXDOMAIN":
        return TestResult("mail.mx", Status.ERROR, f"{f.domain} does not exist (NXDOMAIN)", C_MX, facts=facts)
    if not f.mx.answered:
        return TestResult("mail.mx", Status.ERROR, f"MX lookup failed ({f.mx.rcode})", C_MX, facts=facts)
    if f.null_mx_mixed:
        return TestResult(
            "mail.mx",
            Status.WARNING,
            "null MX ('0 .') published together with other MX records",
            "RFC 7505 §3",
            fix="Remove the null MX, or all other MX records.",
            facts=facts,
        )
    if f.null_mx:
        return TestResult(
            "mail.mx", Status.PASSED, "null MX: the domain accepts no mail (RFC 7505)", C_MX, facts=facts
        )
    if not f.hosts:
        return TestResult(
            "mail.mx",
            Status.WARNING,
            "no MX record: senders fall back to the domain's A/AAAA (implicit MX)",
            C_MX,
            fix="Publish MX records, or a null MX ('MX 0 .') if the domain receives no mail.",
            facts=facts,
        )
    return TestResult(
        "mail.mx",
        Status.PASSED,
        "MX: " + ", ".join(f"{h.preference} {h.name}" for h in f.hosts),
        C_MX,
        facts=facts,
    )


def _no_mx(f: MailFacts) -> tuple[Status, str] | None:
    """Status for every per-MX subtest when there is nothing to test."""
    if not f.mx.answered:
        return Status.NOT_TESTED, "MX lookup failed"
    if f.null_mx and not f.hosts:
        return Status.NOT_APPLICABLE, "null MX: the domain accepts no mail"
    if not f.hosts:
        return Status.NOT_APPLICABLE, "no mail servers (MX)"
    return None


def _starttls(host: MxHost, p: Probe) -> TestResult:
    target = f"{host.name} {p.address}"
    s = p.session
    facts: dict[str, Any] = {"banner": s.banner, "attempts": s.attempts}
    if p.tls is not None:
        facts["tls_handshakes"] = p.tls.handshakes
    if s.outcome == "ok":
        if p.tls is not None and p.tls.versions:
            return TestResult(
                "mail.starttls",
                Status.PASSED,
                "STARTTLS offered; TLS " + ", ".join(p.tls.versions),
                C_STARTTLS,
                target=target,
                facts=facts,
            )
        why = p.tls.error if p.tls is not None and p.tls.error else "no TLS version could be negotiated"
        if p.scan_failures:
            return TestResult(
                "mail.starttls",
                Status.NOT_TESTED,
                f"STARTTLS offered, but the server refused our test sessions ({p.scan_failures[0]})",
                C_STARTTLS,
                target=target,
                facts=facts,
            )
        return TestResult(
            "mail.starttls",
            Status.FAILED,
            f"STARTTLS offered, but the TLS handshake fails: {why}",
            C_STARTTLS,
            fix="Configure a certificate and TLS 1.2/1.3 on the mail server.",
            target=target,
            facts=facts,
        )
    if s.outcome == "no_starttls":
        return TestResult(
            "mail.starttls",
            Status.FAILED,
            "STARTTLS is not offered (EHLO: " + " ".join(s.extensions[:12]) + ")",
            C_STARTTLS,
            fix="Enable STARTTLS with a certificate on the mail server.",
            target=target,
            facts=facts,
        )
    if s.outcome == "transient":
        return TestResult(
            "mail.starttls",
            Status.NOT_TESTED,
            f"rate limited or greylisted after {s.attempts} attempts ({s.detail})",
            C_STARTTLS,
            target=target,
            facts=facts,
        )
    what = "unreachable" if s.outcome == "unreachable" else "refused the session"
    return TestResult(
        "mail.starttls",
        Status.ERROR,
        f"mail server {what}: {s.detail}",
        C_STARTTLS,
        target=target,
        facts=facts,
    )


def _tls_results(host: MxHost, p: Probe, profile: Any) -> list[TestResult]:
    target = f"{host.name} {p.address}"
    ids = sorted(set(_mail_ids.values()))
    if p.tls is None or not p.tls.versions:
        return [
            TestResult(i, Status.NOT_TESTED, "no TLS connection", SUBTESTS.get(i).clause, target=target)
            for i in ids
        ]
    if p.scan_failures:
        d = f"the server refused {len(p.scan_failures)} test session(s) during the scan: result incomplete"
        return [TestResult(i, Status.NOT_TESTED, d, SUBTESTS.get(i).clause, target=target) for i in ids]
    from nds.standards.checks.tls.evaluate import evaluate_cert, evaluate_tls

    out: list[TestResult] = []
    for r in [*evaluate_tls(p.tls, profile, mail=True), *evaluate_cert(p.tls, host.name, profile, mail=True)]:
        if r.id in _DROPPED or r.id not in _mail_ids:
            continue
        status = r.status
        if r.id in _INFO_ONLY and status is Status.FAILED:
            status = Status.INFO
        out.append(TestResult(_mail_ids[r.id], status, r.detail, r.clause, r.fix, target, r.facts))
    return out


def _tlsa_records(lk: Lookup) -> tuple[list[dane.Tlsa], list[str]]:
    recs: list[dane.Tlsa] = []
    bad: list[str] = []
    for t in lk.records:
        try:
            recs.append(dane.Tlsa.parse(t))
        except ValueError:
            bad.append(t)
    return recs, bad


def evaluate_dane(host: MxHost) -> list[TestResult]:
    lk = host.tlsa
    assert lk is not None
    tname = f"_25._tcp.{host.name}"
    facts: dict[str, Any] = {"tlsa": lk.to_json()}
    if lk.dnssec is DnssecStatus.BOGUS:
        r = TestResult(
            "mail.dane_exists",
            Status.FAILED,
            f"{tname} TLSA is bogus (DNSSEC validation fails)",
            C_DANE,
            fix="Fix the DNSSEC signatures of the MX zone.",
            target=host.name,
            facts=facts,
        )
        return [
            r,
            TestResult(
                "mail.dane",
                Status.FAILED,
                "TLSA records cannot be trusted (bogus)",
                C_DANE,
                target=host.name,
                facts=facts,
            ),
            TestResult(
                "mail.dane_rollover", Status.NOT_TESTED, "no usable TLSA", C_DANE_ROLL, target=host.name
            ),
        ]
    if not lk.answered:
        return [
            TestResult(
                i,
                Status.ERROR,
                f"TLSA lookup of {tname} failed ({lk.rcode})",
                C_DANE,
                target=host.name,
                facts=facts,
            )
            for i in ("mail.dane_exists", "mail.dane")
        ] + [
            TestResult(
                "mail.dane_rollover", Status.NOT_TESTED, "TLSA lookup failed", C_DANE_ROLL, target=host.name
            )
        ]
    if not lk.records:
        return [
            TestResult(
                "mail.dane_exists",
                Status.FAILED,
                f"no TLSA record at {tname}",
                C_DANE,
                fix="Sign the MX zone with DNSSEC and publish a TLSA record (e.g. '3 1 1 <sha256 of "
                "the public key>').",
                target=host.name,
                facts=facts,
            ),
            TestResult("mail.dane", Status.NOT_TESTED, "no TLSA record", C_DANE, target=host.name),
            TestResult(
                "mail.dane_rollover", Status.NOT_TESTED, "no TLSA record", C_DANE_ROLL, target=host.name
            ),
        ]
    if lk.dnssec is not DnssecStatus.SECURE:
        return [
            TestResult(
                "mail.dane_exists",
                Status.FAILED,
                f"{tname} has TLSA records but they are not DNSSEC-signed (insecure): senders ignore them",
                C_DANE,
                fix="Sign the MX zone with DNSSEC (with a DS at the parent).",
                target=host.name,
                facts=facts,
            ),
            TestResult("mail.dane", Status.NOT_TESTED, "TLSA not secure", C_DANE, target=host.name),
            TestResult(
                "mail.dane_rollover", Status.NOT_TESTED, "TLSA not secure", C_DANE_ROLL, target=host.name
            ),
        ]
    recs, malformed = _tlsa_records(lk)
    out = [
        TestResult(
            "mail.dane_exists",
            Status.PASSED,
            f"{tname}: {len(lk.records)} DNSSEC-secure TLSA record(s)",
            C_DANE,
            target=host.name,
            facts=facts,
        )
    ]
    scheme = dane.rollover_scheme(recs)
    roll = (
        TestResult(
            "mail.dane_rollover", Status.PASSED, f"rollover scheme: {scheme}", C_DANE_ROLL, target=host.name
        )
        if scheme
        else TestResult(
            "mail.dane_rollover",
            Status.INFO,
            "no rollover scheme (publish a second DANE-EE record for the next key, or a DANE-TA record)",
            C_DANE_ROLL,
            target=host.name,
        )
    )
    if not any(r.usable for r in recs):
        out.append(
            TestResult(
                "mail.dane",
                Status.FAILED,
                "no usable TLSA record: on port 25 only DANE-TA(2) and "
                "DANE-EE(3) count; PKIX usages 0/1 are ignored",
                "RFC 7672 §3.1.3",
                fix="Publish a '3 1 1' (or '2 1 1') TLSA record.",
                target=host.name,
                facts=facts,
            )
        )
        return [*out, roll]
    chains = [(p, p.tls.chain) for p in host.probes if p.tls is not None and p.tls.chain]
    if not chains:
        out.append(
            TestResult(
                "mail.dane",
                Status.NOT_TESTED,
                "no certificate chain received over STARTTLS",
                C_DANE,
                target=host.name,
                facts=facts,
            )
        )
        return [*out, roll]
    for p, chain in chains:
        m = dane.match_chain(recs, chain, host.name)
        info = {**facts, "matched": m.matched, "ignored": m.ignored + malformed}
        tgt = f"{host.name} {p.address}"
        if m.matched:
            out.append(
                TestResult(
                    "mail.dane",
                    Status.PASSED,
                    f"TLSA {m.matched[0]} matches the chain",
                    C_DANE,
                    target=tgt,
                    facts=info,
                )
            )
        else:
            why = "; ".join(m.problems) or "no usable TLSA record matches the certificate chain sent"
            out.append(
                TestResult(
                    "mail.dane",
                    Status.FAILED,
                    why,
                    "RFC 7672 §3.1.1, §3.1.2; RFC 6698 §2.1",
                    fix="Update the TLSA record to the current certificate/key (publish the new "
                    "record before switching keys).",
                    target=tgt,
                    facts=info,
                )
            )
    return [*out, roll]


def evaluate_transport(f: MailFacts, profile: Any) -> list[TestResult]:
    out = [evaluate_mx_state(f)]
    empty = _no_mx(f)
    if empty is not None:
        status, why = empty
        ids = [
            "mail.starttls",
            "mail.dane_exists",
            "mail.dane",
            "mail.dane_rollover",
            *sorted(set(_mail_ids.values())),
        ]
        return out + [TestResult(i, status, why, SUBTESTS.get(i).clause) for i in ids]
    for host in f.hosts:
        if not host.probes:
            bad = host.a.rcode if not host.a.answered else host.aaaa.rcode if not host.aaaa.answered else ""
            st = Status.ERROR if bad else Status.FAILED
            detail = f"address lookup failed ({bad})" if bad else "the MX host has no A or AAAA record"
            out.append(
                TestResult(
                    "mail.starttls",
                    st,
                    detail,
                    C_MX,
                    fix="" if bad else "Point the MX at a host name with an address.",
                    target=host.name,
                )
            )
        for p in host.probes:
            out.append(_starttls(host, p))
            out += _tls_results(host, p, profile)
        if host.tlsa is not None:
            out += evaluate_dane(host)
    return out
