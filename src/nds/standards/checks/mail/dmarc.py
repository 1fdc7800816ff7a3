"""DMARC (RFC 7489, with RFC 9989's ``t`` tag): record parsing, policy and report destinations.

Policy discovery as RFC 7489 §6.6.3: ``_dmarc.<domain>``; when that has no (single) DMARC record,
``_dmarc.<organizational domain>`` (§3.2, public suffix list), whose ``sp`` (or else ``p``)
applies. External report destinations (§7.1) must publish ``<domain>._report._dmarc.<host>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from nds.standards.checks.dns.resolver import Lookup

POLICIES = ("none", "quarantine", "reject")
_KNOWN = {"v", "p", "sp", "np", "psd", "t", "rua", "ruf", "adkim", "aspf", "fo", "pct", "rf", "ri"}


@lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def org_domain(domain: str) -> str:
    """RFC 7489 §3.2: the public suffix plus one label (the domain itself if it is a suffix)."""
    d = domain.rstrip(".").lower()
    return _psl().privatesuffix(d) or d


def is_dmarc(txt: str) -> bool:
    return re.match(r"^v\s*=\s*DMARC1\s*(;|$)", txt) is not None


@dataclass
class Record:
    tags: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def uris(self) -> list[str]:
        out: list[str] = []
        for tag in ("rua", "ruf"):
            if tag in self.tags:
                out += [u.strip() for u in self.tags[tag].split(",") if u.strip()]
        return out


def parse(txt: str) -> Record:
    """Parse a DMARC record (RFC 7489 §6.3, §6.4). Unknown tags are ignored (§6.3)."""
    rec = Record()
    parts = [p.strip() for p in txt.split(";")]
    if not parts or re.fullmatch(r"v\s*=\s*DMARC1", parts[0]) is None:
        rec.errors.append("the first tag must be v=DMARC1 (RFC 7489 §6.4)")
        return rec
    for part in parts[1:]:
        if not part:
            continue
        name, eq, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not eq or not re.fullmatch(r"[a-z][a-z0-9]*", name):
            rec.errors.append(f"malformed tag {part!r}")
            continue
        if name in rec.tags:
            rec.errors.append(f"tag {name!r} appears more than once")
        if name in _KNOWN:
            rec.tags[name] = value
    for tag in ("p", "sp", "np"):
        if tag in rec.tags and rec.tags[tag].lower() not in POLICIES:
            rec.errors.append(f"{tag}={rec.tags[tag]!r} is not none, quarantine or reject")
    if "t" in rec.tags and rec.tags["t"].lower() not in ("y", "n"):
        rec.errors.append(f"t={rec.tags['t']!r} must be y or n (RFC 9989)")
    for tag in ("adkim", "aspf"):
        if tag in rec.tags and rec.tags[tag].lower() not in ("r", "s"):
            rec.errors.append(f"{tag}={rec.tags[tag]!r} must be r or s")
    if "pct" in rec.tags and not (rec.tags["pct"].isdigit() and 0 <= int(rec.tags["pct"]) <= 100):
        rec.errors.append(f"pct={rec.tags['pct']!r} must be 0-100")
    for uri in rec.uris():
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:", uri):
            rec.errors.append(f"report destination {uri!r} is not a URI")
    if "p" not in rec.tags:
        rec.errors.append("required tag p is missing (RFC 7489 §6.3)")
    return rec


def dmarc_records(lookup: Lookup | None) -> list[str]:
    return [t for t in lookup.records if is_dmarc(t)] if lookup else []


def mailto_hosts(rec: Record) -> list[str]:
    """Domains of the mailto: report destinations (size suffix ``!10m`` removed)."""
    hosts: list[str] = []
    for uri in rec.uris():
        if uri.lower().startswith("mailto:"):
            addr = uri[7:].split("!", 1)[0]
            if "@" in addr:
                hosts.append(addr.rsplit("@", 1)[1].rstrip(".").lower())
    return list(dict.fromkeys(hosts))


def external_hosts(rec: Record, policy_domain: str) -> list[str]:
    """Report destinations whose organizational domain differs from the policy domain's (§7.1)."""
    own = org_domain(policy_domain)
    return [h for h in mailto_hosts(rec) if org_domain(h) != own]


def effective_policy(rec: Record, *, at_org: bool) -> tuple[str, str]:
    """(tag used, policy value) for the tested domain: p, or sp when found at the org domain."""
    if at_org and "sp" in rec.tags:
        return "sp", rec.tags["sp"].lower()
    return "p", rec.tags.get("p", "none").lower()
