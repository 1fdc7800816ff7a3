"""Shared constants and types of the PKI tests (imported by conftest and the test modules)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nds.fsc.grouprules import GroupRules
from nds.pki import CaFiles, DevGroup

OIN_A = "00000001000000000001"
OIN_B = "00000001000000000002"


@dataclass
class Group:
    dev: DevGroup
    rules: GroupRules
    other_ca: CaFiles
    tmp: Path
