"""FSC Group rules: the one file every component of a Peer reads.

fsc-core leaves a number of choices to the Group ("Group Rules & Restrictions"): its ID, the trust
anchors, which certificate subject fields give the Peer ID and the Peer name, TLS versions, ports.
nds adds the operational choices a Group must agree on to interoperate (token lifetime, clock skew,
TransactionID format, signature propagation retries, CRL checking, directories).

The file format is TOML (read with the standard library's :mod:`tomllib`); relative paths in it
(trust anchors, CRLs) are relative to the file itself. See docs/fsc/pki-tokens.md for an annotated
example.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

GROUP_ID_PATTERN = r"^[a-zA-Z0-9./_-]{1,100}$"
OIN_PATTERN = r"^[0-9]{20}$"

# NCSC "ICT-beveiligingsrichtlijnen voor TLS" (2025): "good" TLS 1.2 suites are ECDHE with an AEAD
# cipher (OpenSSL names). TLS 1.3 suites use their IANA names, as OpenSSL does.
NCSC_GOOD_TLS12_CIPHERS: tuple[str, ...] = (
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
)
NCSC_GOOD_TLS13_CIPHERS: tuple[str, ...] = (
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
)
KNOWN_TLS13_CIPHERS = frozenset({*NCSC_GOOD_TLS13_CIPHERS, "TLS_AES_128_CCM_SHA256"})

# Subject attribute names accepted in peer_id_field / peer_name_field (a dotted OID is accepted too).
SUBJECT_FIELDS: dict[str, str] = {
    "serialNumber": "2.5.4.5",
    "O": "2.5.4.10",
    "CN": "2.5.4.3",
    "OU": "2.5.4.11",
    "organizationIdentifier": "2.5.4.97",
    "C": "2.5.4.6",
    "L": "2.5.4.7",
    "UID": "0.9.2342.19200300.100.1.1",
}
_OID_RE = re.compile(r"^[0-2](\.[0-9]+)+$")

TlsVersion = Literal["1.2", "1.3"]


class GroupRulesError(ValueError):
    """The group rules file is missing, unreadable or invalid (message is user-facing)."""


class DirectoryPeer(BaseModel):
    """A Directory of the Group: a Manager that the Group designated as directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    peer_id: str = Field(description="Peer ID of the directory (with the OIN scheme: 20 digits).")
    manager_address: str = Field(
        description="Base address of the directory's Manager, https with port 443 or 8443, "
        "e.g. https://directory.example.nl:8443."
    )

    @field_validator("manager_address")
    @classmethod
    def _address(cls, v: str) -> str:
        if not re.fullmatch(r"https://[^/\s:]+:(443|8443)/?", v):
            raise ValueError("manager_address must be https://<host>:443 or :8443 (FSC ports)")
        return v.rstrip("/")


class TlsRules(BaseModel):
    """TLS versions and cipher suites every mTLS connection in the Group uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_version: TlsVersion = Field(
        default="1.2", description="Lowest TLS version accepted (NCSC: 1.3 good, 1.2 sufficient)."
    )
    max_version: TlsVersion = Field(default="1.3", description="Highest TLS version offered.")
    tls12_ciphers: list[str] = Field(
        default_factory=lambda: list(NCSC_GOOD_TLS12_CIPHERS),
        description="Allowed TLS 1.2 cipher suites, OpenSSL names, in preference order "
        "(default: NCSC 'good': ECDHE with AES-GCM or ChaCha20-Poly1305).",
    )
    tls13_ciphers: list[str] = Field(
        default_factory=lambda: list(NCSC_GOOD_TLS13_CIPHERS),
        description="Allowed TLS 1.3 cipher suites, IANA names (default: the three NCSC 'good' suites).",
    )

    @field_validator("tls12_ciphers")
    @classmethod
    def _tls12(cls, v: list[str]) -> list[str]:
        for name in v:
            if not re.fullmatch(r"[A-Z0-9-]+", name):
                raise ValueError(f"not an OpenSSL cipher name: {name!r}")
        return v

    @field_validator("tls13_ciphers")
    @classmethod
    def _tls13(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one TLS 1.3 cipher suite is required")
        unknown = [n for n in v if n not in KNOWN_TLS13_CIPHERS]
        if unknown:
            raise ValueError(f"unknown TLS 1.3 cipher suite(s): {', '.join(unknown)}")
        return v

    @model_validator(mode="after")
    def _order(self) -> TlsRules:
        if float(self.min_version) > float(self.max_version):
            raise ValueError("tls.min_version is higher than tls.max_version")
        if self.min_version == "1.2" and not self.tls12_ciphers:
            raise ValueError("TLS 1.2 is allowed but tls12_ciphers is empty")
        return self


class Ports(BaseModel):
    """Ports of the FSC components (fsc-core: 443 for data, 8443 for management)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    manager: int = Field(
        default=8443, ge=1, le=65535, description="Port of every Manager's FSC API (FSC: 8443)."
    )
    inway: int = Field(default=443, ge=1, le=65535, description="Port of every Inway (FSC: 443).")


class GroupRules(BaseModel):
    """The rules of one FSC Group, shared by all its Peers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group_id: str = Field(
        pattern=GROUP_ID_PATTERN,
        description="The Group ID (fsc-core: ^[a-zA-Z0-9./_-]{1,100}$), e.g. 'fsc-demo'.",
    )
    fsc_version: Literal["1.1", "draft"] = Field(
        default="1.1",
        description="FSC Core version spoken: '1.1' (published 1.1.x, master) or 'draft' (develop: "
        "JCS + SHA3-512 hashes, grant properties).",
    )
    trust_anchors: list[Path] = Field(
        min_length=1,
        description="PEM files with the Group's trust anchor (root CA) certificates; relative paths "
        "are relative to the rules file.",
    )
    peer_id_field: str = Field(
        default="serialNumber",
        description="Certificate subject attribute holding the Peer ID (name such as 'serialNumber' "
        "or a dotted OID). PKIoverheid: serialNumber holds the OIN.",
    )
    peer_id_pattern: str = Field(
        OIN_PATTERN, description="Regular expression a Peer ID must match fully (OIN: 20 digits)."
    )
    peer_name_field: str = Field(
        default="O",
        description="Certificate subject attribute holding the Peer name (default: O, organisation).",
    )
    tls: TlsRules = Field(default_factory=TlsRules, description="TLS versions and cipher suites.")
    ports: Ports = Field(default_factory=Ports, description="Ports of Managers and Inways.")
    transaction_id_format: Literal["uuidv7"] = Field(
        default="uuidv7", description="Format of fsc-logging TransactionIDs (RFC 9562 UUID version 7)."
    )
    token_lifetime_seconds: int = Field(
        default=300,
        ge=10,
        le=3600,
        description="Lifetime of access tokens issued by Managers. Short, because an Inway checks "
        "tokens offline: a revoked contract keeps working until its tokens expire.",
    )
    clock_skew_seconds: int = Field(
        default=30,
        ge=0,
        le=300,
        description="Clock difference tolerated when checking exp/nbf and validity dates.",
    )
    signature_retry_schedule: list[int] = Field(
        default_factory=lambda: [1, 5, 30, 120, 600, 1800, 3600],
        min_length=1,
        description="Seconds to wait before each retry of propagating a signature to a Peer; after the "
        "last entry, retries continue at the last interval until the contract expires.",
    )
    check_crl: bool = Field(
        default=False, description="Check peer certificates against the CRLs in crl_paths."
    )
    crl_paths: list[Path] = Field(
        default_factory=list,
        description="PEM or DER CRL files of the trust anchors (relative to the rules file).",
    )
    directories: list[DirectoryPeer] = Field(
        default_factory=list, description="The Group's directories (at least one for a working Group)."
    )
    membership_administrator_peer_id: str | None = Field(
        default=None,
        description="Regulated Area extension: Peer ID of the Membership Administrator; when set, only "
        "registered members may publish or connect.",
    )
    regulated_area_name: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9./_-]{1,100}$",
        description="Regulated Area extension: name of the Regulated Area the Membership Administrator "
        "governs (grant property regulated_area_name).",
    )

    @field_validator("peer_id_field", "peer_name_field")
    @classmethod
    def _subject_field(cls, v: str) -> str:
        if v not in SUBJECT_FIELDS and not _OID_RE.fullmatch(v):
            raise ValueError(f"unknown subject field {v!r}; use one of {', '.join(SUBJECT_FIELDS)} or an OID")
        return v

    @field_validator("peer_id_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"invalid regular expression: {e}") from e
        return v

    @field_validator("signature_retry_schedule")
    @classmethod
    def _schedule(cls, v: list[int]) -> list[int]:
        if any(s < 0 for s in v):
            raise ValueError("retry intervals must be >= 0 seconds")
        return v

    @model_validator(mode="after")
    def _cross(self) -> GroupRules:
        for d in self.directories:
            if not self.is_valid_peer_id(d.peer_id):
                raise ValueError(f"directory peer_id {d.peer_id!r} does not match peer_id_pattern")
        mid = self.membership_administrator_peer_id
        if mid is not None and not self.is_valid_peer_id(mid):
            raise ValueError("membership_administrator_peer_id does not match peer_id_pattern")
        if self.check_crl and not self.crl_paths:
            raise ValueError("check_crl is true but crl_paths is empty")
        return self

    # -- helpers -------------------------------------------------------------------------------

    def is_valid_peer_id(self, peer_id: str) -> bool:
        return re.fullmatch(self.peer_id_pattern, peer_id) is not None

    def subject_oid(self, which: Literal["peer_id", "peer_name"]) -> str:
        """Dotted OID of the subject attribute that carries the Peer ID or name."""
        name = self.peer_id_field if which == "peer_id" else self.peer_name_field
        return SUBJECT_FIELDS.get(name, name)

    def load_trust_anchors(self) -> list[Any]:
        """All trust anchor certificates (``cryptography.x509.Certificate``), in file order."""
        from nds.pki import load_certificates

        out: list[Any] = []
        for p in self.trust_anchors:
            out.extend(load_certificates(p))
        return out

    def load_crls(self) -> list[Any]:
        """The CRLs from ``crl_paths`` (``cryptography.x509.CertificateRevocationList``)."""
        from nds.pki import load_crl

        return [load_crl(p) for p in self.crl_paths]

    def retry_delay(self, attempt: int) -> int:
        """Seconds to wait before retry number ``attempt`` (0-based); the last entry repeats."""
        s = self.signature_retry_schedule
        return s[min(max(attempt, 0), len(s) - 1)]


def _resolve(base: Path, paths: list[Any]) -> list[Path]:
    return [p if Path(p).is_absolute() else (base / p).resolve() for p in map(Path, paths)]


def parse_group_rules(data: dict[str, Any], base_dir: Path) -> GroupRules:
    """Validate already-parsed rules; relative paths are resolved against ``base_dir``."""
    data = dict(data)
    for key in ("trust_anchors", "crl_paths"):
        if isinstance(data.get(key), list):
            data[key] = _resolve(base_dir, data[key])
    try:
        return GroupRules.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(file)"
            lines.append(f"{loc}: {err['msg']}")
        raise GroupRulesError("invalid group rules:\n  " + "\n  ".join(lines)) from None


def load_group_rules(path: str | os.PathLike[str]) -> GroupRules:
    """Read and validate a group rules TOML file. Raises :class:`GroupRulesError` with a clear message."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise GroupRulesError(f"cannot read group rules {p}: {e.strerror or e}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise GroupRulesError(f"group rules {p} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise GroupRulesError(f"group rules {p} is not valid TOML: {e}") from None
    rules = parse_group_rules(data, p.resolve().parent)
    for anchor in rules.trust_anchors:
        if not anchor.is_file():
            raise GroupRulesError(f"trust anchor file not found: {anchor}")
    if rules.check_crl:
        for crl in rules.crl_paths:
            if not crl.is_file():
                raise GroupRulesError(f"CRL file not found: {crl}")
    return rules


# -- writing ---------------------------------------------------------------------------------------


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _comment(model: type[BaseModel], name: str) -> str:
    desc = model.model_fields[name].description or ""
    return f"# {desc}\n" if desc else ""


def dump_group_rules(rules: GroupRules, path: str | os.PathLike[str]) -> None:
    """Write ``rules`` as an annotated TOML file; paths are written relative to the file when possible."""
    p = Path(path)
    base = p.resolve().parent

    def rel(q: Path) -> str:
        try:
            return Path(os.path.relpath(q, base)).as_posix()
        except ValueError:  # another drive (Windows)
            return str(q)

    data = rules.model_dump(mode="python")
    lines: list[str] = ["# FSC group rules (nds). See docs/fsc/pki-tokens.md.\n"]
    tables: list[str] = []
    for name in GroupRules.model_fields:
        value = data[name]
        if value is None:
            continue
        if name in ("trust_anchors", "crl_paths"):
            value = [rel(Path(x)) for x in value]
        if name in ("tls", "ports"):
            sub = TlsRules if name == "tls" else Ports
            block = [f"\n{_comment(GroupRules, name)}[{name}]\n"]
            for k, v in value.items():
                block.append(_comment(sub, k) + f"{k} = {_toml_value(v)}\n")
            tables.append("".join(block))
        elif name == "directories":
            for d in value:
                tables.append(
                    f"\n{_comment(GroupRules, name)}[[directories]]\n"
                    f"peer_id = {_toml_value(d['peer_id'])}\n"
                    f"manager_address = {_toml_value(d['manager_address'])}\n"
                )
        else:
            lines.append(_comment(GroupRules, name) + f"{name} = {_toml_value(value)}\n")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text("".join(lines) + "".join(tables), encoding="utf-8")
    tmp.replace(p)
