"""SPF (RFC 7208): record parsing and the pure policy evaluation.

The evaluation walks the record and, recursively, every ``include:`` and ``redirect=`` target
from the recorded TXT lookups, counting DNS-querying terms (§4.6.4: at most 10) and void lookups
(§4.6.4: at most 2), detecting loops, and determining the effective ``all`` qualifier (through
``redirect=`` when the record has no ``all``). Macros (§7) are not expanded: a term with a macro
counts as a lookup but is not followed (as internet.nl).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from nds.standards.checks.dns.resolver import Lookup

MAX_LOOKUPS = 10
MAX_VOID = 2
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists"})
MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
_MODIFIER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.]*$")
_MACRO_EXPAND = re.compile(r"%\{[slodiphcrtvSLODIPHCRTV]\d*r?[.\-+,/_=]*\}|%%|%_|%-", re.ASCII)
_TOPLABEL = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Term:
    qualifier: str  # "+", "-", "~", "?" (mechanisms); "" for modifiers
    name: str  # lower-case mechanism or modifier name
    value: str  # domain-spec / address, without cidr
    cidr: str = ""
    modifier: bool = False

    @property
    def has_macro(self) -> bool:
        return "%" in self.value


@dataclass
class Parsed:
    terms: list[Term] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def mechanisms(self) -> list[Term]:
        return [t for t in self.terms if not t.modifier]

    def modifier(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.modifier and t.name == name), None)


def is_spf(txt: str) -> bool:
    """RFC 7208 §4.5: exactly "v=spf1" followed by a space or the end."""
    low = txt.lower()
    return low == "v=spf1" or low.startswith("v=spf1 ")


def _check_domain_spec(spec: str) -> str | None:
    if not spec:
        return "empty domain-spec"
    stripped = _MACRO_EXPAND.sub("x", spec)
    if "%" in stripped:
        return f"invalid macro in {spec!r}"
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in stripped):
        return f"invalid character in {spec!r}"
    if "%" in spec:
        return None  # a macro-expand may end the spec (RFC 7208 §7.1 domain-end)
    labels = spec.rstrip(".").split(".")
    if len(labels) < 2 or not _TOPLABEL.match(labels[-1]) or any(not lbl for lbl in labels):
        return f"{spec!r} is not a fully qualified domain name"
    return None


def _split_cidr(value: str) -> tuple[str, str]:
    m = re.match(r"^(.*?)((?:/\d+)?(?://\d+)?)$", value)
    assert m is not None
    return m.group(1), m.group(2)


def _check_cidr(cidr: str, name: str) -> str | None:
    if not cidr:
        return None
    v4, _, v6 = cidr.partition("//")
    parts = [("ip4", v4.lstrip("/")), ("ip6", v6)] if name in ("a", "mx") else [(name, cidr.lstrip("/"))]
    for fam, bits in parts:
        if bits == "":
            continue
        if not bits.isdigit() or (bits.startswith("0") and bits != "0"):
            return f"invalid prefix length {cidr!r}"
        if int(bits) > (32 if fam == "ip4" else 128):
            return f"prefix length {cidr!r} too long"
    return None


def parse(record: str) -> Parsed:
    """Parse one SPF record (RFC 7208 §4.6.1, §12). Errors are permerrors."""
    out = Parsed()
    if not is_spf(record):
        out.errors.append("record does not start with 'v=spf1'")
        return out
    seen_mod: set[str] = set()
    for raw in record.split(" ")[1:]:
        if raw == "":
            continue
        m = re.match(r"^([A-Za-z][A-Za-z0-9\-_.]*)=(.*)$", raw)
        if m and m.group(1).lower() not in MECHANISMS:
            name, value = m.group(1).lower(), m.group(2)
            if not _MODIFIER_NAME.match(name):
                out.errors.append(f"invalid modifier {raw!r}")
                continue
            if name in ("redirect", "exp"):
                if name in seen_mod:
                    out.errors.append(f"'{name}=' appears more than once (RFC 7208 §6)")
                seen_mod.add(name)
                err = _check_domain_spec(value)
                if err:
                    out.errors.append(f"{name}=: {err}")
            out.terms.append(Term("", name, value, modifier=True))
            continue
        qualifier = "+"
        body = raw
        if body[0] in "+-~?":
            qualifier, body = body[0], body[1:]
        name, sep, value = body.partition(":")
        name = name.lower()
        if "/" in name and name.split("/", 1)[0] in ("a", "mx"):
            name, rest = name.split("/", 1)
            value, sep = "", ""
            body_cidr = "/" + rest
        else:
            body_cidr = ""
        if name not in MECHANISMS:
            out.errors.append(f"unknown mechanism {raw!r}")
            continue
        cidr = body_cidr
        if name in ("a", "mx") and value:
            value, cidr = _split_cidr(value)
        if name == "all":
            if sep:
                out.errors.append(f"'all' takes no argument: {raw!r}")
        elif name in ("include", "exists"):
            err = _check_domain_spec(value) if sep else f"'{name}' needs a domain: {raw!r}"
            if err:
                out.errors.append(f"{name}: {err}")
        elif name in ("a", "mx", "ptr"):
            if sep and not value:
                out.errors.append(f"empty domain in {raw!r}")
            elif value:
                err = _check_domain_spec(value)
                if err:
                    out.errors.append(f"{name}: {err}")
            err = _check_cidr(cidr, name)
            if err:
                out.errors.append(f"{name}: {err}")
        elif name in ("ip4", "ip6"):
            if not sep:
                out.errors.append(f"'{name}' needs an address: {raw!r}")
            else:
                addr, _, bits = value.partition("/")
                try:
                    ip = ipaddress.ip_address(addr)
                    if ip.version != (4 if name == "ip4" else 6):
                        raise ValueError
                except ValueError:
                    out.errors.append(f"invalid {name} address {value!r}")
                else:
                    cidr = "/" + bits if bits else ""
                    err = _check_cidr(cidr, name)
                    if err:
                        out.errors.append(f"{name}: {err}")
                    value = addr
        out.terms.append(Term(qualifier, name, value, cidr))
    return out


def spf_records(lookup: Lookup | None) -> list[str]:
    return [t for t in lookup.records if is_spf(t)] if lookup else []


def targets(parsed: Parsed, domain: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Names the walk needs: (TXT names for include/redirect, [(type, name)] for a/mx void checks)."""
    txt: list[str] = []
    hosts: list[tuple[str, str]] = []
    for t in parsed.terms:
        if t.has_macro:
            continue
        if t.name == "include" or (t.modifier and t.name == "redirect"):
            txt.append(t.value.rstrip(".").lower())
        elif t.name in ("a", "mx") and not t.modifier:
            hosts.append(("A" if t.name == "a" else "MX", (t.value or domain).rstrip(".").lower()))
    return txt, hosts


@dataclass
class SpfFacts:
    """Recorded lookups: TXT per domain name, and A/AAAA/MX per ``TYPE name`` for void counting."""

    domain: str
    txt: dict[str, Lookup] = field(default_factory=dict)
    hosts: dict[str, list[Lookup]] = field(default_factory=dict)


@dataclass
class Walk:
    lookups: int = 0
    voids: int = 0
    syntax: list[str] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)  # bad include/redirect targets
    loops: list[str] = field(default_factory=list)
    dns_errors: list[str] = field(default_factory=list)
    not_followed: list[str] = field(default_factory=list)
    records: list[tuple[str, str]] = field(default_factory=list)
    policy: str | None = None  # effective all qualifier of the top record


def _target_record(facts: SpfFacts, target: str, w: Walk, kind: str) -> str | None:
    lk = facts.txt.get(target)
    if lk is None:
        w.not_followed.append(target)
        return None
    if not lk.answered:
        w.dns_errors.append(f"{kind} {target}: {lk.rcode}")
        return None
    recs = spf_records(lk)
    if lk.void:
        w.voids += 1
    if len(recs) != 1:
        what = "no SPF record" if not recs else f"{len(recs)} SPF records"
        w.includes.append(f"{kind}:{target} has {what} (permerror, RFC 7208 §5.2/§6.1)")
        return None
    return recs[0]


def _walk(facts: SpfFacts, domain: str, record: str, w: Walk, stack: tuple[str, ...]) -> str | None:
    w.records.append((domain, record))
    p = parse(record)
    if p.errors:
        w.syntax += [f"{domain}: {e}" for e in p.errors]
        return None
    policy: str | None = None
    for t in p.mechanisms():
        if t.name in LOOKUP_TERMS:
            w.lookups += 1
        if t.name == "all":
            policy = t.qualifier
            break  # terms after 'all' are never evaluated (RFC 7208 §5.1)
        if t.has_macro:
            continue
        if t.name == "include":
            target = t.value.rstrip(".").lower()
            if target in stack:
                w.loops.append(" -> ".join([*stack, target]))
                continue
            if w.lookups > MAX_LOOKUPS:
                continue
            rec = _target_record(facts, target, w, "include")
            if rec is not None:
                _walk(facts, target, rec, w, (*stack, target))
        elif t.name in ("a", "mx"):
            key = f"{'A' if t.name == 'a' else 'MX'} {(t.value or domain).rstrip('.').lower()}"
            lks = facts.hosts.get(key)
            if lks is None:
                continue
            if any(not lk.answered for lk in lks):
                w.dns_errors.append(f"{t.name} {key.split()[1]}: " + ",".join(lk.rcode for lk in lks))
            elif all(lk.void for lk in lks):
                w.voids += 1
            elif t.name == "mx" and len(lks[0].records) > MAX_LOOKUPS:
                w.includes.append(
                    f"mx:{key.split()[1]} has {len(lks[0].records)} MX records, at most {MAX_LOOKUPS} "
                    "may be evaluated (permerror, RFC 7208 §4.6.4)"
                )
    redirect = p.modifier("redirect")
    if policy is None and redirect is not None:
        w.lookups += 1
        if redirect.has_macro:
            w.not_followed.append(redirect.value)
            return None
        target = redirect.value.rstrip(".").lower()
        if target in stack:
            w.loops.append(" -> ".join([*stack, target]))
            return None
        if w.lookups > MAX_LOOKUPS:
            return None
        rec = _target_record(facts, target, w, "redirect")
        if rec is not None:
            return _walk(facts, target, rec, w, (*stack, target))
    return policy


def walk(facts: SpfFacts, record: str) -> Walk:
    w = Walk()
    w.policy = _walk(facts, facts.domain.rstrip(".").lower(), record, w, (facts.domain.rstrip(".").lower(),))
    return w
