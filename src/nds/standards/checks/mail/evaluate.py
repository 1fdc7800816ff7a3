"""Pure evaluation of the mail authentication facts: SPF, DMARC, DKIM (internet.nl's rules).

Standards and their subtests (only fail-level subtests count):
- ``spf``: ``mail.spf`` (exactly one SPF record), ``mail.spf_policy`` (syntax, ``-all``/``~all``,
  ≤ 10 DNS lookups, ≤ 2 void lookups, no loops, valid include/redirect targets);
- ``dmarc``: ``mail.dmarc`` (a DMARC record applies), ``mail.dmarc_policy`` (quarantine/reject),
  ``mail.dmarc_external`` (notice: external report destinations authorised);
- ``dkim``: ``mail.dkim`` (``_domainkey`` exists; not_tested for non-sending domains).
"""

from __future__ import annotations

import re

from nds.standards.checks.dns.resolver import Lookup
from nds.standards.checks.mail import dmarc as dm
from nds.standards.checks.mail import spf
from nds.standards.checks.mail.retrieve import DmarcFacts
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult

C_SPF = "RFC 7208 §4.5 (exactly one SPF record)"
C_SPF_SYNTAX = "RFC 7208 §4.6, §12 (record syntax)"
C_SPF_ALL = "Forum Standaardisatie SPF (strict policy '-all' or '~all'); RFC 7208 §5.1"
C_SPF_LIMIT = "RFC 7208 §4.6.4 (at most 10 DNS-querying terms)"
C_SPF_VOID = "RFC 7208 §4.6.4 (at most 2 void lookups)"
C_SPF_INCLUDE = "RFC 7208 §5.2 / §6.1 (include/redirect target must have one SPF record)"
C_DMARC = "RFC 7489 §6.6.3 (policy discovery)"
C_DMARC_POLICY = "Forum Standaardisatie DMARC (p=quarantine or p=reject); RFC 7489 §6.3"
C_DMARC_T = "RFC 9989 (t=y: test mode, one policy step less strict)"
C_DMARC_EXT = "RFC 7489 §7.1 (verifying external report destinations)"
C_DKIM = "RFC 6376 §3.6.2.1 (_domainkey); RFC 8020 (NXDOMAIN: nothing below)"

_d = SUBTESTS.declare
_d(Subtest("mail.spf", "spf", Status.FAILED, "SPF record exists", C_SPF))
_d(Subtest("mail.spf_policy", "spf", Status.FAILED, "SPF policy sufficiently strict", C_SPF_ALL))
_d(Subtest("mail.dmarc", "dmarc", Status.FAILED, "DMARC record exists", C_DMARC))
_d(Subtest("mail.dmarc_policy", "dmarc", Status.FAILED, "DMARC policy sufficiently strict", C_DMARC_POLICY))
_d(
    Subtest(
        "mail.dmarc_external",
        "dmarc",
        Status.WARNING,
        "External DMARC report destinations authorised",
        C_DMARC_EXT,
    )
)
_d(Subtest("mail.dkim", "dkim", Status.FAILED, "DKIM present", C_DKIM))

_NON_SENDING_SPF = re.compile(r"^v=spf1\s+-all\s*$", re.IGNORECASE)


def _dns_error(sub: str, lk: Lookup, clause: str) -> TestResult:
    return TestResult(
        sub,
        Status.ERROR,
        f"DNS lookup of {lk.name} failed ({lk.rcode})",
        clause,
        facts={"lookup": lk.to_json()},
    )


# --- SPF ----------------------------------------------------------------------------------------


def evaluate_spf(f: spf.SpfFacts) -> list[TestResult]:
    top = f.txt.get(f.domain)
    if top is None or not top.answered:
        lk = top or Lookup(f.domain, "TXT", "TIMEOUT")
        return [
            _dns_error("mail.spf", lk, C_SPF),
            TestResult("mail.spf_policy", Status.NOT_TESTED, "no SPF record to evaluate", C_SPF_ALL),
        ]
    recs = spf.spf_records(top)
    if len(recs) != 1:
        detail = (
            "no SPF record (TXT starting with 'v=spf1')"
            if not recs
            else (f"{len(recs)} SPF records: a receiver treats this as a permanent error")
        )
        return [
            TestResult(
                "mail.spf",
                Status.FAILED,
                detail,
                C_SPF,
                fix="Publish exactly one TXT record "
                "starting with 'v=spf1' that lists your sending servers and ends in '-all'.",
                facts={"records": recs},
            ),
            TestResult("mail.spf_policy", Status.NOT_TESTED, "no single SPF record to evaluate", C_SPF_ALL),
        ]
    out = [TestResult("mail.spf", Status.PASSED, f"SPF record: {recs[0]}", C_SPF, facts={"record": recs[0]})]
    w = spf.walk(f, recs[0])
    facts = {
        "lookups": w.lookups,
        "void_lookups": w.voids,
        "records": [list(r) for r in w.records],
        "policy": w.policy,
    }
    if w.not_followed:
        facts["not_followed"] = w.not_followed
    fail: tuple[str, str, str] | None = None
    if w.syntax:
        fail = ("invalid SPF syntax: " + "; ".join(w.syntax), C_SPF_SYNTAX, "Correct the SPF record syntax.")
    elif w.loops:
        fail = ("include/redirect loop: " + "; ".join(w.loops), C_SPF_LIMIT, "Remove the circular include.")
    elif w.includes:
        fail = (
            "; ".join(w.includes),
            C_SPF_INCLUDE,
            "Point include:/redirect= only at domains with exactly one SPF record.",
        )
    elif w.lookups > spf.MAX_LOOKUPS:
        fail = (
            f"{w.lookups} DNS-querying terms (include, a, mx, ptr, exists, redirect), at most "
            f"{spf.MAX_LOOKUPS} allowed",
            C_SPF_LIMIT,
            "Replace includes by ip4:/ip6: ranges or flatten nested includes.",
        )
    elif w.voids > spf.MAX_VOID:
        fail = (
            f"{w.voids} void lookups (names without records), at most {spf.MAX_VOID} allowed",
            C_SPF_VOID,
            "Remove terms that point at names without records.",
        )
    if fail is None and w.dns_errors:
        out.append(
            TestResult(
                "mail.spf_policy",
                Status.ERROR,
                "DNS errors while following the record: " + "; ".join(w.dns_errors),
                C_SPF_INCLUDE,
                facts=facts,
            )
        )
        return out
    if fail is None:
        if w.policy in ("-", "~"):
            out.append(
                TestResult(
                    "mail.spf_policy",
                    Status.PASSED,
                    f"policy ends in '{w.policy}all', {w.lookups} DNS lookups",
                    C_SPF_ALL,
                    facts=facts,
                )
            )
            return out
        shown = {"+": "'+all' (everyone may send)", "?": "'?all' (neutral)"}.get(
            w.policy or "", "no 'all' (neutral default)"
        )
        fail = (
            f"policy ends in {shown}; '-all' or '~all' required",
            C_SPF_ALL,
            "End the SPF record with '-all' (or '~all').",
        )
    detail, clause, fix = fail
    out.append(TestResult("mail.spf_policy", Status.FAILED, detail, clause, fix=fix, facts=facts))
    return out


# --- DMARC --------------------------------------------------------------------------------------


def evaluate_dmarc(f: DmarcFacts) -> list[TestResult]:
    if not f.own.answered:
        return [
            _dns_error("mail.dmarc", f.own, C_DMARC),
            TestResult("mail.dmarc_policy", Status.NOT_TESTED, "no DMARC record", C_DMARC_POLICY),
            TestResult("mail.dmarc_external", Status.NOT_TESTED, "no DMARC record", C_DMARC_EXT),
        ]
    own = dm.dmarc_records(f.own)
    lookup, at_org, where = f.own, False, f.domain
    if not own and f.org is not None:  # RFC 7489 §6.6.3: only when the domain has no record at all
        if not f.org.answered:
            return [
                _dns_error("mail.dmarc", f.org, C_DMARC),
                TestResult("mail.dmarc_policy", Status.NOT_TESTED, "no DMARC record", C_DMARC_POLICY),
                TestResult("mail.dmarc_external", Status.NOT_TESTED, "no DMARC record", C_DMARC_EXT),
            ]
        lookup, at_org, where = f.org, True, f.org_domain
    recs = dm.dmarc_records(lookup)
    if len(recs) != 1:
        detail = (
            f"no DMARC record at _dmarc.{f.domain}" + (f" or _dmarc.{f.org_domain}" if f.org else "")
            if not recs and not own
            else f"{len(recs) or len(own)} DMARC records at _dmarc.{where}: DMARC is not applied"
        )
        return [
            TestResult(
                "mail.dmarc",
                Status.FAILED,
                detail,
                C_DMARC,
                fix="Publish one TXT record at "
                f"_dmarc.{f.domain}, e.g. 'v=DMARC1; p=reject; rua=mailto:dmarc@{f.domain}'.",
            ),
            TestResult("mail.dmarc_policy", Status.NOT_TESTED, "no DMARC record", C_DMARC_POLICY),
            TestResult("mail.dmarc_external", Status.NOT_TESTED, "no DMARC record", C_DMARC_EXT),
        ]
    text = recs[0]
    facts: dict[str, object] = {"record": text, "found_at": f"_dmarc.{where}"}
    out = [
        TestResult(
            "mail.dmarc", Status.PASSED, f"DMARC record at _dmarc.{where}: {text}", C_DMARC, facts=facts
        )
    ]
    rec = dm.parse(text)
    out.append(_dmarc_policy(rec, at_org=at_org, is_org=f.domain == f.org_domain, facts=facts))
    out.append(_dmarc_external(rec, where, f.authorisations))
    return out


def _dmarc_policy(rec: dm.Record, *, at_org: bool, is_org: bool, facts: dict[str, object]) -> TestResult:
    fix = "Set p=quarantine or p=reject (and sp likewise) once your reports show all mail aligns."
    if rec.errors:
        return TestResult(
            "mail.dmarc_policy",
            Status.FAILED,
            "invalid DMARC record: " + "; ".join(rec.errors),
            "RFC 7489 §6.3, §6.4 (record syntax)",
            fix="Correct the DMARC record syntax.",
            facts=facts,
        )
    tag, value = dm.effective_policy(rec, at_org=at_org)
    weak: list[str] = []
    if value not in ("quarantine", "reject"):
        weak.append(f"{tag}={value}")
    if is_org and not at_org and rec.tags.get("sp", "").lower() == "none":
        weak.append("sp=none (subdomains unprotected)")
    testing = rec.tags.get("t", "n").lower() == "y"
    if testing and value == "quarantine":
        return TestResult(
            "mail.dmarc_policy",
            Status.FAILED,
            f"{tag}=quarantine with t=y: in test mode receivers apply p=none",
            C_DMARC_T,
            fix="Remove t=y (or set t=n).",
            facts=facts,
        )
    if weak:
        return TestResult(
            "mail.dmarc_policy",
            Status.FAILED,
            "policy not strict enough: " + ", ".join(weak),
            C_DMARC_POLICY,
            fix=fix,
            facts=facts,
        )
    note = " (t=y: receivers apply quarantine)" if testing else ""
    return TestResult("mail.dmarc_policy", Status.PASSED, f"{tag}={value}{note}", C_DMARC_POLICY, facts=facts)


def _dmarc_external(rec: dm.Record, where: str, authz: dict[str, Lookup]) -> TestResult:
    external = dm.external_hosts(rec, where)
    if not external:
        return TestResult(
            "mail.dmarc_external", Status.PASSED, "no external report destinations", C_DMARC_EXT
        )
    missing = [h for h in external if h not in authz or not dm.dmarc_records(authz[h])]
    errors = [h for h in missing if h in authz and not authz[h].answered]
    facts = {"external": external}
    if errors:
        return TestResult(
            "mail.dmarc_external",
            Status.ERROR,
            "DNS error checking " + ", ".join(f"{where}._report._dmarc.{h}" for h in errors),
            C_DMARC_EXT,
            facts=facts,
        )
    if missing:
        return TestResult(
            "mail.dmarc_external",
            Status.WARNING,
            "external destination(s) did not authorise "
            "reports: " + ", ".join(f"{where}._report._dmarc.{h} has no v=DMARC1 record" for h in missing),
            C_DMARC_EXT,
            fix="Ask the report receiver to publish the authorisation record, or report to your own domain.",
            facts=facts,
        )
    return TestResult(
        "mail.dmarc_external",
        Status.PASSED,
        "every external destination authorises reports: " + ", ".join(external),
        C_DMARC_EXT,
        facts=facts,
    )


# --- DKIM ---------------------------------------------------------------------------------------


def non_sending(spf_facts: spf.SpfFacts, dmarc_facts: DmarcFacts) -> bool:
    """internet.nl's non-sending domain: SPF exactly 'v=spf1 -all' and DMARC p=reject (sp=reject when
    the policy comes from the organizational domain)."""
    recs = spf.spf_records(spf_facts.txt.get(spf_facts.domain))
    if len(recs) != 1 or not _NON_SENDING_SPF.match(recs[0]):
        return False
    own = dm.dmarc_records(dmarc_facts.own)
    at_org = len(own) != 1
    recs = own if not at_org else dm.dmarc_records(dmarc_facts.org)
    if len(recs) != 1:
        return False
    rec = dm.parse(recs[0])
    return not rec.errors and dm.effective_policy(rec, at_org=at_org)[1] == "reject"


def evaluate_dkim(dkim: Lookup, sending: bool) -> TestResult:
    facts = {"lookup": dkim.to_json()}
    if dkim.rcode == "NOERROR":
        return TestResult(
            "mail.dkim", Status.PASSED, f"{dkim.name} exists: DKIM keys are published", C_DKIM, facts=facts
        )
    if dkim.rcode == "NXDOMAIN":
        if not sending:
            return TestResult(
                "mail.dkim",
                Status.NOT_TESTED,
                "domain does not send mail (SPF '-all' and DMARC reject): DKIM not required",
                C_DKIM,
                facts=facts,
            )
        return TestResult(
            "mail.dkim",
            Status.FAILED,
            f"{dkim.name} does not exist (NXDOMAIN): no DKIM keys",
            C_DKIM,
            fix="Sign outgoing mail with DKIM and publish the selector key(s) under _domainkey.",
            facts=facts,
        )
    return _dns_error("mail.dkim", dkim, C_DKIM)
