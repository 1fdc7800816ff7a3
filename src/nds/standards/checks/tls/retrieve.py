"""Network retrieval of TLS facts for one address: crafted-ClientHello enumeration plus one full handshake.

Design (see docs/standards/tls-policy.md): instead of sslyze's one-handshake-per-suite scans, every probe
offers *all* remaining candidates and the server's pick is removed before the next probe, so a scan costs
about (accepted suites + accepted groups + versions) handshakes. TLS 1.3 probes send an empty key_share so
the server answers with a HelloRetryRequest naming both its suite and its group — no key material on either
side. TLS <= 1.2 probes read the plaintext flight up to ServerHelloDone, which carries the certificate
chain, the ECDHE curve or DH group, and the key-exchange signature algorithm. One real handshake
(``fullhs``) checks what needs a completed session: trust, OCSP stapling, 0-RTT, client renegotiation.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
from dataclasses import asdict, dataclass, field
from typing import Any

from nds.standards.checks.tls import wire
from nds.standards.checks.tls.ffdhe import identify_dh_group
from nds.standards.checks.tls.probe import HandshakeCounter, Unreachable, exchange, probe_sslv2
from nds.standards.checks.tls.suites import SUITES, TLS13_SUITES

ALL_TLS13 = sorted(TLS13_SUITES)
MAX_SUITES_PER_HELLO = 64  # some servers ignore suites past the 64th or reject big hellos (nmap, internet.nl)


def _offer_rank(code: int) -> tuple[int, int]:
    """Common suites first, so the first chunk alone finds every version a server supports."""
    name = SUITES[code]
    kex, _, enc = name.partition("_WITH_")
    common = kex in ("TLS_ECDHE_ECDSA", "TLS_ECDHE_RSA", "TLS_DHE_RSA", "TLS_RSA") and (
        enc.startswith(("AES_", "CHACHA20", "3DES", "RC4")) and "CCM_8" not in enc
    )
    return (0 if common else 1), code


# Offered TLS <= 1.2 suites: everything in the table except PSK/SRP (never chosen without their own
# extensions) and static ECDH (needs ECDH certificates, extinct) — 126 suites, two hellos of <= 64.
LEGACY_SUITES = sorted(
    (
        c
        for c, n in SUITES.items()
        if c not in TLS13_SUITES
        and "PSK" not in n
        and "_SRP_" not in n
        and not n.startswith(("TLS_ECDH_ECDSA_", "TLS_ECDH_RSA_"))
    ),
    key=_offer_rank,
)
_N_CHUNKS = -(-len(LEGACY_SUITES) // MAX_SUITES_PER_HELLO)
_SIZE = -(-len(LEGACY_SUITES) // _N_CHUNKS)
LEGACY_CHUNKS = [LEGACY_SUITES[i : i + _SIZE] for i in range(0, len(LEGACY_SUITES), _SIZE)]


@dataclass
class TlsFacts:
    """Everything observed about TLS on one address; JSON-serialisable via ``to_json``."""

    address: str
    port: int
    reachable: bool = True
    versions: list[str] = field(default_factory=list)
    suites: dict[str, list[str]] = field(default_factory=dict)  # version -> accepted, in server pick order
    server_order: dict[str, bool | None] = field(default_factory=dict)  # version -> enforces own order
    groups: list[str] = field(default_factory=list)  # ECDHE / TLS 1.3 groups accepted
    dh_groups: list[str] = field(default_factory=list)  # TLS <= 1.2 DHE groups seen (ffdheN or custom-N)
    kex_hash: str | None = None  # "sha2", "no_sha2", or None when no signed key exchange was seen
    tls_compression: bool = False
    secure_renegotiation: bool | None = None  # None: no TLS <= 1.2
    ems: bool | None = None
    client_renegotiation: str | None = None  # off / limited / unlimited; None: not tested
    zero_rtt: bool | None = None
    ocsp_stapled: bool | None = None
    ocsp_response: bytes | None = None  # the stapled OCSP response (DER), if any
    chain: list[bytes] = field(default_factory=list)  # DER, as sent (leaf first)
    trust_error: str | None = None
    negotiated: str | None = None  # version of the full handshake
    handshakes: int = 0
    error: str | None = None

    @property
    def all_suites(self) -> list[str]:
        seen: list[str] = []
        for names in self.suites.values():
            seen.extend(n for n in names if n not in seen)
        return seen

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["chain"] = [base64.b64encode(c).decode() for c in self.chain]
        if self.ocsp_response is not None:
            out["ocsp_response"] = base64.b64encode(self.ocsp_response).decode()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TlsFacts:
        data = dict(data)
        data["chain"] = [base64.b64decode(c) for c in data.get("chain", [])]
        if data.get("ocsp_response"):
            data["ocsp_response"] = base64.b64decode(data["ocsp_response"])
        return cls(**data)


class _Scanner:
    def __init__(
        self, addr: str, port: int, server_name: str, timeout: float, counter: HandshakeCounter, retries: int
    ):
        self.addr, self.port, self.name, self.timeout = addr, port, server_name, timeout
        self.counter, self.retries = counter, retries

    async def hello(self, **kw: Any) -> wire.ServerAnswer:
        tls13 = kw.get("tls13", False)
        data = wire.client_hello(server_name=self.name, **kw)
        return await exchange(
            self.addr,
            self.port,
            data,
            timeout=self.timeout,
            counter=self.counter,
            tls13=tls13,
            retries=self.retries,
        )


async def _scan_tls13(s: _Scanner, facts: TlsFacts) -> None:
    """Enumerate TLS 1.3 suites and groups together: each HelloRetryRequest names one of each."""
    suites, groups = list(ALL_TLS13), list(wire.TLS13_GROUPS)
    got_suites: list[int] = []
    got_groups: list[int] = []
    ans = await s.hello(version=wire.TLS12, suites=suites, groups=groups, tls13=True)
    if not (ans.accepted and ans.version == wire.TLS13):
        return
    facts.versions.append("TLSv1.3")
    for _ in range(len(suites) + len(groups) + 1):  # bounded even for servers that ignore our offer
        assert ans.suite is not None
        if ans.suite not in got_suites:
            got_suites.append(ans.suite)
        if ans.group is not None and ans.group not in got_groups:
            got_groups.append(ans.group)
        rest_s = [c for c in suites if c not in got_suites]
        rest_g = [g for g in groups if g not in got_groups]
        if not rest_s and not rest_g:
            break
        offer_s = rest_s or got_suites[:1]
        offer_g = rest_g or got_groups[:1]
        ans = await s.hello(version=wire.TLS12, suites=offer_s, groups=offer_g, tls13=True)
        if ans.accepted and ans.version == wire.TLS13:
            if ans.suite not in offer_s or (ans.group is not None and ans.group not in offer_g):
                break  # the server answers outside our offer: stop rather than loop
            continue
        # Refused: either no suite or no group of what remained. Separate the two, then finish each alone.
        if rest_s and rest_g:
            await _finish_13(s, rest_s, got_suites, got_groups[:1], "suite")
            await _finish_13(s, rest_g, got_groups, got_suites[:1], "group")
        break
    facts.suites["TLSv1.3"] = [SUITES[c] for c in got_suites]
    facts.groups = [wire.GROUPS.get(g, f"0x{g:04x}") for g in got_groups]
    # TLS 1.3 suite order is not judged (internet.nl): no order probe, one handshake saved


async def _finish_13(s: _Scanner, rest: list[int], got: list[int], fixed: list[int], kind: str) -> None:
    rest = list(rest)
    while rest:
        if kind == "suite":
            ans = await s.hello(version=wire.TLS12, suites=rest, groups=fixed, tls13=True)
            pick = ans.suite
        else:
            ans = await s.hello(version=wire.TLS12, suites=fixed, groups=rest, tls13=True)
            pick = ans.group
        if not (ans.accepted and ans.version == wire.TLS13) or pick is None or pick not in rest:
            return
        got.append(pick)
        rest.remove(pick)


def _record_flight(ans: wire.ServerAnswer, facts: TlsFacts, sha2_seen: list[bool]) -> None:
    if not facts.chain and ans.certificates:
        facts.chain = ans.certificates
    if ans.compression:
        facts.tls_compression = True
    if wire.EXT_RENEGOTIATION_INFO in ans.extensions:
        facts.secure_renegotiation = True
    elif facts.secure_renegotiation is None:
        facts.secure_renegotiation = False
    if wire.EXT_EMS in ans.extensions:
        facts.ems = True
    elif facts.ems is None:
        facts.ems = False
    if ans.ocsp_stapled:
        facts.ocsp_stapled = True
    if ans.dh_prime is not None:
        name = identify_dh_group(ans.dh_prime, ans.dh_generator or b"")
        if name not in facts.dh_groups:
            facts.dh_groups.append(name)
    if ans.group is not None:
        g = wire.GROUPS.get(ans.group, f"0x{ans.group:04x}")
        if g not in facts.groups:
            facts.groups.append(g)
    if ans.kex_sigalg is not None:
        sha2_seen.append(wire.sigalg_is_sha2(ans.kex_sigalg))


async def _enumerate_legacy(
    s: _Scanner, asked: int, exclude: set[int], facts: TlsFacts, sha2_seen: list[bool]
) -> tuple[int | None, list[int]]:
    """Suites accepted at ``asked`` (or the lower version the server answers with), chunk by chunk.

    The first hello offers the whole first chunk (common suites) to learn whether — and at which version —
    the server speaks TLS <= 1.2 at all; a refusal there means the version is not supported. Later hellos
    leave out what was already picked and ``exclude`` (suites seen at a higher version)."""
    version: int | None = None
    order: list[int] = []
    for index, chunk in enumerate(LEGACY_CHUNKS):
        if version is None and index > 0:
            break
        offer = [c for c in chunk if c not in order and (version is None or c not in exclude)]
        while offer:
            ans = await s.hello(version=version or asked, suites=offer)
            ok = (
                ans.accepted
                and ans.version in wire.VERSION_NAMES
                and ans.version is not None
                and ans.version <= asked
                and (version is None or ans.version == version)
                and ans.suite in offer
            )
            if not ok:
                break
            assert ans.suite is not None and ans.version is not None
            version = version or ans.version
            _record_flight(ans, facts, sha2_seen)
            order.append(ans.suite)
            offer = [c for c in offer if c != ans.suite and c not in exclude]
    return version, order


async def _scan_legacy(s: _Scanner, facts: TlsFacts) -> None:
    """TLS 1.2 and older. The highest version gets a full enumeration; older versions only look for
    suites not already seen (the cipher verdict is over the union of all versions)."""
    sha2_seen: list[bool] = []
    known: list[int] = []
    done: set[int] = set()
    top: int | None = None
    for asked in (wire.TLS12, wire.TLS11, wire.TLS10, wire.SSL3):
        if asked in done or (top is not None and asked > top):
            continue
        first = top is None
        version, order = await _enumerate_legacy(s, asked, set() if first else set(known), facts, sha2_seen)
        if version is None:
            done.add(asked)
            continue
        for skipped in (wire.TLS12, wire.TLS11, wire.TLS10, wire.SSL3):
            if version < skipped <= asked:
                done.add(skipped)  # the server answered a lower version: these are not supported
        done.add(version)
        top = version if first else top
        vname = wire.VERSION_NAMES[version]
        facts.versions.append(vname)
        known += [c for c in order if c not in known]
        facts.suites[vname] = [SUITES.get(c, f"0x{c:04x}") for c in order]
        if first and len(order) > 1:
            # the accepted suites in reverse, the server's first pick last: a server that still picks it
            # enforces its own order (and the enumeration sequence is that order)
            rev = [*reversed(order[1:MAX_SUITES_PER_HELLO]), order[0]]
            ans = await s.hello(version=version, suites=rev)
            facts.server_order[vname] = (ans.suite == order[0]) if ans.accepted else None
        if version == wire.TLS12:
            await _legacy_curves(s, facts, sha2_seen)
    if "TLSv1.3" in facts.versions:
        facts.kex_hash = "sha2"
    elif sha2_seen:
        facts.kex_hash = "sha2" if any(sha2_seen) else None
        if not any(sha2_seen) and "TLSv1.2" in facts.versions:
            ecdhe = [c for c in known if "_ECDHE_" in SUITES.get(c, "") or "_DHE_" in SUITES.get(c, "")]
            ans = await s.hello(version=wire.TLS12, suites=ecdhe, sigalgs=wire.SIGALGS_SHA2)
            facts.kex_hash = "sha2" if ans.accepted else "no_sha2"
        elif not any(sha2_seen):
            facts.kex_hash = "no_sha2"
    elif (
        facts.versions
        and not facts.suites.get("TLSv1.2")
        and any("_ECDHE_" in n or "_DHE_" in n for v in facts.suites.values() for n in v)
    ):
        facts.kex_hash = "no_sha2"  # TLS 1.0/1.1 sign key exchange with MD5+SHA-1


async def _legacy_curves(s: _Scanner, facts: TlsFacts, sha2_seen: list[bool]) -> None:
    """When TLS 1.3 did not list the groups, enumerate TLS 1.2 ECDHE curves via ServerKeyExchange."""
    if "TLSv1.3" in facts.versions:
        return
    ecdhe = [c for c in LEGACY_SUITES if "_ECDHE_" in SUITES[c]]
    curves = list(wire.EC_GROUPS)
    seen = [g for g in curves if wire.GROUPS[g] in facts.groups]
    rest = [g for g in curves if g not in seen]
    while rest:
        ans = await s.hello(version=wire.TLS12, suites=ecdhe, groups=rest)
        if not ans.accepted or ans.group is None or ans.group not in rest:
            return
        _record_flight(ans, facts, sha2_seen)
        rest.remove(ans.group)


_POOL: concurrent.futures.ThreadPoolExecutor | None = None
FULL_HANDSHAKE_THREADS = 64  # mostly waiting on the network: many threads, little CPU


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    """A dedicated pool, so slow servers in a round cannot starve asyncio's default executor."""
    global _POOL
    if _POOL is None:
        _POOL = concurrent.futures.ThreadPoolExecutor(FULL_HANDSHAKE_THREADS, thread_name_prefix="nds-tls")
    return _POOL


async def scan_address(
    addr: str,
    port: int,
    server_name: str,
    *,
    timeout: float = 10.0,
    ca_file: str | None = None,
    counter: HandshakeCounter | None = None,
    retries: int = 1,
) -> TlsFacts:
    """All TLS facts of one address. Never raises for network trouble: sets ``reachable``/``error``.
    ``retries``: how often a probe is repeated after a connection failure or a timeout."""
    from nds.standards.checks.tls import fullhs

    counter = counter or HandshakeCounter()
    start = counter.count
    facts = TlsFacts(address=addr, port=port)
    s = _Scanner(addr, port, server_name, timeout, counter, retries)
    try:
        await _scan_tls13(s, facts)
        await _scan_legacy(s, facts)
        # SSL 2.0 was removed from every TLS 1.3 implementation long before TLS 1.3 existed
        if "TLSv1.3" not in facts.versions and await probe_sslv2(
            addr, port, timeout=timeout, counter=counter
        ):
            facts.versions.append("SSLv2")
        if facts.versions:
            await asyncio.get_running_loop().run_in_executor(
                _pool(), fullhs.full_handshake, addr, port, server_name, facts, timeout, ca_file, counter
            )
    except Unreachable as exc:
        facts.reachable = False
        facts.error = str(exc)
    except Exception as exc:  # boundary of a measurement: record, never crash a round
        facts.error = f"TLS scan failed: {type(exc).__name__}: {exc}"
    facts.versions.sort(key=lambda v: ["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3", "SSLv2"].index(v))
    facts.handshakes = counter.count - start
    return facts
