"""A complete Group on disk in one call: CA, group rules, Peer certificates (demo, tests, DigiLab).

Layout under ``out_dir``::

    ca/ca.pem, ca/ca.key.pem        the Group CA (trust anchor)
    group.toml                      group rules (trust_anchors = ["ca/ca.pem"])
    peers/<peer_id>/cert.pem ...    one directory per Peer (cert.pem, key.pem, chain.pem)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nds.pki.issue import create_group_ca, issue_peer_certificate
from nds.pki.model import CaFiles, PeerFiles


@dataclass(frozen=True)
class PeerSpec:
    """A Peer to issue: OIN, organisation name, host names (first one is CN) and IP addresses."""

    peer_id: str
    name: str
    hostnames: Sequence[str]
    ip_addresses: Sequence[str] = ()
    key_type: str = "ec-p256"


@dataclass(frozen=True)
class DevGroup:
    """What :func:`create_dev_group` made."""

    root: Path
    ca: CaFiles
    rules_path: Path
    peers: dict[str, PeerFiles] = field(default_factory=dict)


def create_dev_group(
    out_dir: str | os.PathLike[str],
    group_id: str,
    peers: Iterable[PeerSpec],
    *,
    ca_name: str | None = None,
    ca_key_type: str = "ec-p256",
    fsc_version: str = "1.1",
    rules_overrides: Mapping[str, Any] | None = None,
) -> DevGroup:
    """Create a CA, a group rules file and one certificate per Peer under ``out_dir``."""
    from nds.fsc.grouprules import dump_group_rules, parse_group_rules

    root = Path(out_dir)
    ca = create_group_ca(root / "ca", ca_name or group_id, key_type=ca_key_type)
    issued: dict[str, PeerFiles] = {}
    for p in peers:
        issued[p.peer_id] = issue_peer_certificate(
            ca, p.peer_id, p.name, list(p.hostnames), root / "peers" / p.peer_id,
            ip_addresses=p.ip_addresses, key_type=p.key_type,
        )
    data: dict[str, Any] = {"group_id": group_id, "fsc_version": fsc_version, "trust_anchors": ["ca/ca.pem"]}
    data.update(rules_overrides or {})
    rules = parse_group_rules(data, root.resolve())
    rules_path = root / "group.toml"
    dump_group_rules(rules, rules_path)
    return DevGroup(root=root, ca=ca, rules_path=rules_path, peers=issued)
