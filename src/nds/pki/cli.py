"""``nds pki``: a Group CA, Peer certificates, renewal, key rotation, CRLs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from nds.pki.files import load_certificate, load_certificates
from nds.pki.identity import cert_thumbprint_s256, peer_identity, public_key_thumbprint
from nds.pki.issue import (
    ca_files,
    create_group_ca,
    issue_peer_certificate,
    publish_crl,
    renew_certificate,
    rotate_key,
)
from nds.pki.model import KEY_TYPES, CaFiles, PkiError

app = typer.Typer(
    no_args_is_help=True, help="Group CA, peer certificates (OIN), renewal, key rotation, CRLs."
)

REVOKED_FILE = "revoked.json"


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(2)


def _ca_dir(ca: Path | None, state: Path | None) -> Path:
    """``--ca DIR`` or ``--state DIR`` (a DigiLab state directory: its ``ca/`` subdirectory)."""
    if ca is not None and state is not None:
        raise _fail("give --ca or --state, not both")
    if ca is not None:
        return ca
    if state is not None:
        candidate = state / "ca"
        info = state / "digilab.json"
        if info.is_file():
            try:
                data = json.loads(info.read_text(encoding="utf-8"))
                if isinstance(data, dict) and isinstance(data.get("ca_dir"), str):
                    candidate = (state / data["ca_dir"]).resolve()
            except (OSError, json.JSONDecodeError):
                raise _fail(f"{info} is not readable JSON") from None
        return candidate
    raise _fail("give the CA directory with --ca DIR (or a DigiLab state directory with --state DIR)")


def _load_ca(ca: Path | None, state: Path | None) -> CaFiles:
    try:
        return ca_files(_ca_dir(ca, state))
    except PkiError as e:
        raise _fail(str(e)) from None


def _key_type(value: str) -> str:
    if value not in KEY_TYPES:
        raise _fail(f"--key-type must be one of {', '.join(KEY_TYPES)}")
    return value


CaOpt = Annotated[Path | None, typer.Option("--ca", help="Directory of the Group CA (ca.pem, ca.key.pem).")]
StateOpt = Annotated[
    Path | None, typer.Option("--state", help="DigiLab state directory; uses its CA (DIR/ca).")
]
DaysOpt = Annotated[int, typer.Option("--days", min=1, help="Validity in days.")]
KeyTypeOpt = Annotated[str, typer.Option("--key-type", help=f"Key type: {', '.join(KEY_TYPES)}.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write here instead of replacing in place.")]


@app.command()
def init(
    out: Annotated[Path, typer.Option("--out", help="Directory to create the CA in.")],
    name: Annotated[str, typer.Option("--name", help="Name of the Group (CA subject O).")],
    key_type: KeyTypeOpt = "ec-p256",
    days: Annotated[int, typer.Option("--days", min=1, help="Validity of the CA in days.")] = 3650,
) -> None:
    """Create a Group CA (trust anchor): OUT/ca.pem and OUT/ca.key.pem (mode 0600)."""
    try:
        files = create_group_ca(out, name, key_type=_key_type(key_type), days=days)
    except PkiError as e:
        raise _fail(str(e)) from None
    typer.echo(f"CA certificate: {files.cert}\nCA key:         {files.key}")


@app.command()
def issue(
    peer_id: Annotated[str, typer.Option("--peer-id", help="Peer ID (OIN, 20 digits) for serialNumber.")],
    name: Annotated[str, typer.Option("--name", help="Organisation name for subject O.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for cert.pem, key.pem, chain.pem.")],
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="Host name or IP for the SAN (repeat). Default 127.0.0.1: a DigiLab "
                     "participant on this machine."),
    ] = None,
    ca: CaOpt = None,
    state: StateOpt = None,
    ip: Annotated[list[str] | None, typer.Option("--ip", help="Extra IP address (repeat).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="Reuse this private key (PEM file).")] = None,
    key_type: KeyTypeOpt = "ec-p256",
    days: DaysOpt = 365,
) -> None:
    """Issue a Peer certificate signed by the Group CA."""
    ca_f = _load_ca(ca, state)
    try:
        files = issue_peer_certificate(
            ca_f, peer_id, name, host or ["127.0.0.1"], out,
            ip_addresses=ip or (), key_path=key, key_type=_key_type(key_type), days=days,
        )
    except PkiError as e:
        raise _fail(str(e)) from None
    _print_cert(files.cert)


@app.command()
def request(
    peer_id: Annotated[str, typer.Option("--peer-id", help="Peer ID (OIN, 20 digits) for serialNumber.")],
    name: Annotated[str, typer.Option("--name", help="Organisation name for subject O.")],
    host: Annotated[list[str], typer.Option("--host", help="Host name or IP for the SAN (repeat).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for key.pem and request.csr.")],
    ip: Annotated[list[str] | None, typer.Option("--ip", help="Extra IP address (repeat).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="Reuse this private key (PEM file).")] = None,
    key_type: KeyTypeOpt = "ec-p256",
) -> None:
    """Peer side: make a key and a certificate signing request; send only request.csr to the CA."""
    from nds.pki.csr import create_csr

    try:
        csr, key_file = create_csr(peer_id, name, host, out, ip_addresses=ip or (), key_path=key,
                                   key_type=_key_type(key_type))
    except PkiError as e:
        raise _fail(str(e)) from None
    typer.echo(f"key (keep it here): {key_file}\nrequest (send to the CA): {csr}")


@app.command()
def sign(
    csr: Annotated[Path, typer.Argument(help="The Peer's request.csr.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for cert.pem and chain.pem.")],
    ca: CaOpt = None,
    state: StateOpt = None,
    days: DaysOpt = 365,
) -> None:
    """CA side: sign a Peer's CSR (Peer ID, name and host names are checked; the CA sets the profile)."""
    from nds.pki.csr import sign_csr

    ca_f = _load_ca(ca, state)
    try:
        files = sign_csr(ca_f, csr, out, days=days)
    except PkiError as e:
        raise _fail(str(e)) from None
    _print_cert(files.cert)


@app.command()
def renew(
    peer: Annotated[Path, typer.Argument(help="Directory of the Peer certificate (cert.pem, key.pem).")],
    ca: CaOpt = None,
    state: StateOpt = None,
    out: OutOpt = None,
    days: DaysOpt = 365,
) -> None:
    """Renew a certificate with the SAME key: contracts pinning the public key keep working."""
    ca_f = _load_ca(ca, state)
    try:
        files = renew_certificate(ca_f, peer, out, days=days)
    except PkiError as e:
        raise _fail(str(e)) from None
    _print_cert(files.cert)


@app.command()
def rotate(
    peer: Annotated[Path, typer.Argument(help="Directory of the Peer certificate (cert.pem, key.pem).")],
    ca: CaOpt = None,
    state: StateOpt = None,
    out: OutOpt = None,
    key_type: Annotated[str | None, typer.Option("--key-type", help="New key type (default: same).")] = None,
    days: DaysOpt = 365,
) -> None:
    """Issue a certificate with a NEW key. Connection grants pinning the old key need a new contract."""
    ca_f = _load_ca(ca, state)
    try:
        files = rotate_key(ca_f, peer, out, key_type=_key_type(key_type) if key_type else None, days=days)
    except PkiError as e:
        raise _fail(str(e)) from None
    _print_cert(files.cert)
    typer.echo("note: the public-key thumbprint changed; ServiceConnection grants need a new contract.")


def _parse_serial(value: str) -> int:
    v = value.strip().lower().replace(":", "").removeprefix("0x")
    try:
        n = int(v, 16)
    except ValueError:
        raise _fail(f"not a serial number: {value!r} (hexadecimal, as 'nds pki show' prints it)") from None
    if n <= 0:
        raise _fail(f"not a serial number: {value!r}")
    return n


@app.command()
def crl(
    ca: CaOpt = None,
    state: StateOpt = None,
    revoke: Annotated[list[str] | None, typer.Option("--revoke", help="Serial (hex) to revoke.")] = None,
    revoke_cert: Annotated[
        list[Path] | None, typer.Option("--revoke-cert", help="Certificate file to revoke (repeat).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="CRL file (default: CA_DIR/crl.pem).")] = None,
    next_update_days: Annotated[int, typer.Option("--next-update-days", min=1, help="Days to next CRL.")] = 7,
) -> None:
    """Publish a CRL. Revocations accumulate in CA_DIR/revoked.json, so every CRL lists all of them."""
    ca_f = _load_ca(ca, state)
    registry = ca_f.directory / REVOKED_FILE
    revoked: dict[int, datetime] = {}
    if registry.is_file():
        try:
            for serial_hex, when in json.loads(registry.read_text(encoding="utf-8")).items():
                revoked[int(serial_hex, 16)] = datetime.fromisoformat(when)
        except (OSError, ValueError, AttributeError) as e:
            raise _fail(f"{registry} is damaged ({e}); fix or remove it") from None
    now = datetime.now(UTC).replace(microsecond=0)
    new = [_parse_serial(s) for s in revoke or ()]
    try:
        new += [c.serial_number for p in revoke_cert or () for c in load_certificates(p)[:1]]
    except PkiError as e:
        raise _fail(str(e)) from None
    for serial in new:
        revoked.setdefault(serial, now)
    target = out or ca_f.directory / "crl.pem"
    try:
        publish_crl(ca_f, revoked, target, next_update_days=next_update_days, now=now)
    except PkiError as e:
        raise _fail(str(e)) from None
    from nds.pki.files import write_atomic

    write_atomic(registry, json.dumps({f"{k:x}": v.isoformat() for k, v in sorted(revoked.items())},
                                      indent=2).encode())
    typer.echo(f"CRL with {len(revoked)} revoked certificate(s): {target}")


def _print_cert(path: Path, rules_path: Path | None = None) -> None:
    try:
        cert = load_certificate(path)
    except PkiError as e:
        raise _fail(str(e)) from None
    rules = None
    if rules_path is not None:
        from nds.fsc.grouprules import GroupRulesError, load_group_rules

        try:
            rules = load_group_rules(rules_path)
        except GroupRulesError as e:
            raise _fail(str(e)) from None
    try:
        ident = peer_identity(cert, rules)
        who = f"{ident.peer_id} ({ident.name})"
    except PkiError as e:
        who = f"(none: {e})"
    from cryptography import x509

    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in sans.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in sans.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    typer.echo(f"certificate:           {path}")
    typer.echo(f"subject:               {cert.subject.rfc4514_string()}")
    typer.echo(f"issuer:                {cert.issuer.rfc4514_string()}")
    typer.echo(f"serial:                {cert.serial_number:x}")
    typer.echo(f"peer:                  {who}")
    typer.echo(f"names:                 {', '.join(names) or '-'}")
    typer.echo(f"valid:                 {cert.not_valid_before_utc.isoformat()} .. "
               f"{cert.not_valid_after_utc.isoformat()}")
    typer.echo(f"x5t#S256:              {cert_thumbprint_s256(cert)}")
    typer.echo(f"public_key_thumbprint: {public_key_thumbprint(cert)}")


@app.command()
def show(
    cert: Annotated[Path, typer.Argument(help="Certificate file (PEM or DER).")],
    rules: Annotated[Path | None, typer.Option("--rules", help="Group rules file (Peer ID fields).")] = None,
) -> None:
    """Show a certificate's Peer ID, name, validity and both FSC thumbprints."""
    _print_cert(cert, rules)


@app.command()
def verify(
    cert: Annotated[Path, typer.Argument(help="Certificate PEM (more certificates in it: intermediates).")],
    rules: Annotated[Path, typer.Option("--rules", help="Group rules file (trust anchors, CRLs, Peer ID).")],
    purpose: Annotated[str, typer.Option("--purpose", help="client, server or any.")] = "any",
    hostname: Annotated[str | None, typer.Option("--hostname", help="Host name to check (server).")] = None,
) -> None:
    """Check a certificate against the Group: chain to a trust anchor, validity, EKU, CRLs, Peer ID."""
    from nds.fsc.grouprules import GroupRulesError, load_group_rules
    from nds.pki.validate import validate_certificate

    if purpose not in ("client", "server", "any"):
        raise _fail("--purpose must be client, server or any")
    try:
        group = load_group_rules(rules)
        certs = load_certificates(cert)
        chain = validate_certificate(
            certs[0], certs[1:], group.load_trust_anchors(), datetime.now(UTC),
            group.load_crls() if group.check_crl else (),
            purpose=purpose,  # type: ignore[arg-type]
            hostname=hostname,
        )
        ident = peer_identity(certs[0], group)
    except (GroupRulesError, PkiError) as e:
        typer.echo(f"INVALID: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"valid: {ident.peer_id} ({ident.name}), chain of {len(chain)} to "
               f"{chain[-1].subject.rfc4514_string()}")


@app.command("group-rules")
def group_rules(
    out: Annotated[Path, typer.Option("--out", help="Group rules file to write (TOML).")],
    group_id: Annotated[str, typer.Option("--group-id", help="The Group ID.")],
    anchor: Annotated[list[Path], typer.Option("--anchor", help="Trust anchor PEM file (repeat).")],
    fsc_version: Annotated[str, typer.Option("--fsc-version", help="1.1 or draft.")] = "1.1",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write an annotated group rules file with the documented defaults (edit it, then share it)."""
    from nds.fsc.grouprules import GroupRulesError, dump_group_rules, parse_group_rules

    if out.exists() and not force:
        raise _fail(f"{out} exists; use --force to overwrite it")
    missing = [str(a) for a in anchor if not a.is_file()]
    if missing:
        raise _fail(f"trust anchor file not found: {', '.join(missing)}")
    try:
        rules = parse_group_rules(
            {"group_id": group_id, "fsc_version": fsc_version,
             "trust_anchors": [str(a.resolve()) for a in anchor]},
            Path.cwd(),
        )
    except GroupRulesError as e:
        raise _fail(str(e)) from None
    dump_group_rules(rules, out)
    typer.echo(f"group rules: {out}")


@app.command("check-rules")
def check_rules(rules: Annotated[Path, typer.Argument(help="Group rules file.")]) -> None:
    """Validate a group rules file and its trust anchors; print a summary."""
    from nds.fsc.grouprules import GroupRulesError, load_group_rules

    try:
        group = load_group_rules(rules)
        anchors = group.load_trust_anchors()
        if group.check_crl:
            group.load_crls()
    except (GroupRulesError, PkiError) as e:
        raise _fail(str(e)) from None
    typer.echo(f"group {group.group_id}: FSC {group.fsc_version}, {len(anchors)} trust anchor(s), "
               f"TLS {group.tls.min_version}-{group.tls.max_version}, token lifetime "
               f"{group.token_lifetime_seconds}s, {len(group.directories)} directory/ies, "
               f"CRLs {'checked' if group.check_crl else 'not checked'}")
