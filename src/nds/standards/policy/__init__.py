"""NCSC TLS guideline profiles as versioned data.

A profile rates every observable TLS fact as *good*, *sufficient*, *phase out* or *insufficient*
and cites the guideline clause next to each rating. Two profiles exist:

- ``ncsc-2.1.1``: ICT-beveiligingsrichtlijnen voor TLS v2.1 (Jan 2021; 2.1.1 is the version the
  Besluit beveiligde verbinding met overheidswebsites names), as internet.nl applied it until June 2025.
- ``ncsc-2025-05``: the May 2025 revision, as internet.nl >= 1.11 applies it.

Evaluation code (``nds.standards.checks.tls.evaluate``) never hard-codes a rating: it looks facts up
here, so a policy change is a new profile, never a silent change of an old verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Level(str, Enum):  # noqa: UP042 - str-valued for JSON, like model.Status
    GOOD = "good"
    SUFFICIENT = "sufficient"
    PHASE_OUT = "phase_out"
    INSUFFICIENT = "insufficient"

    @property
    def rank(self) -> int:
        """Higher is worse."""
        return _LEVELS.index(self)


_LEVELS = [Level.GOOD, Level.SUFFICIENT, Level.PHASE_OUT, Level.INSUFFICIENT]


@dataclass(frozen=True)
class Rating:
    level: Level
    clause: str


@dataclass(frozen=True)
class Profile:
    """One guideline version. Every table maps a fact to a Rating; ``*_default`` rates the rest."""

    name: str
    title: str
    source: str
    versions: dict[str, Rating]
    suites: dict[str, Rating]  # IANA cipher-suite name -> rating
    suite_default: Rating
    groups: dict[str, Rating]  # IANA supported-group name (ffdhe groups included)
    group_default: Rating
    custom_dh: dict[int, Rating]  # minimum prime size in bits -> rating, for non-RFC 7919 DH groups
    rsa_key: list[tuple[int, Rating]]  # (minimum bits, rating), checked from largest down
    rsa_key_default: Rating
    cert_curves: dict[str, Rating]
    cert_curve_default: Rating
    cert_hashes: dict[str, Rating]  # hash name in the certificate signature -> rating
    cert_hash_default: Rating
    kex_hash: dict[str, Rating]  # "sha2" / "no_sha2"
    tls_compression: dict[bool, Rating]
    http_compression: dict[bool, Rating]
    secure_renegotiation: dict[bool, Rating]
    client_renegotiation: dict[str, Rating]  # "off" / "limited" / "unlimited"
    zero_rtt: dict[bool, Rating]
    ocsp_stapling: dict[bool, Rating]
    ems: dict[bool, Rating]
    cipher_order: dict[str, Rating]  # "enforced" / "not_enforced" / "not_prescribed"
    notes: list[str] = field(default_factory=list)

    def suite(self, name: str) -> Rating:
        return self.suites.get(name, self.suite_default)

    def group(self, name: str) -> Rating:
        return self.groups.get(name, self.group_default)

    def rsa(self, bits: int) -> Rating:
        for minimum, rating in sorted(self.rsa_key, key=lambda x: -x[0]):
            if bits >= minimum:
                return rating
        return self.rsa_key_default

    def dh_custom(self, bits: int) -> Rating:
        for minimum, rating in sorted(self.custom_dh.items(), key=lambda x: -x[0]):
            if bits >= minimum:
                return rating
        return self.group_default

    def curve(self, name: str) -> Rating:
        return self.cert_curves.get(name, self.cert_curve_default)

    def cert_hash(self, name: str) -> Rating:
        return self.cert_hashes.get(name, self.cert_hash_default)


DEFAULT_PROFILE = "ncsc-2025-05"
LEGAL_PROFILE = "ncsc-2.1.1"


def profiles() -> dict[str, Profile]:
    from nds.standards.policy import ncsc_2_1_1, ncsc_2025_05

    return {ncsc_2_1_1.PROFILE.name: ncsc_2_1_1.PROFILE, ncsc_2025_05.PROFILE.name: ncsc_2025_05.PROFILE}


def get_profile(name: str) -> Profile:
    found = profiles().get(name)
    if found is None:
        raise ValueError(f"unknown TLS profile {name!r}; choose one of {', '.join(sorted(profiles()))}")
    return found


def rate(level: Level, clause: str) -> Rating:
    return Rating(level, clause)
