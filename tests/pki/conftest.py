"""Fixtures for the PKI tests: one Group (CA, rules, two Peers) and a second, unrelated CA."""

from __future__ import annotations

import pytest
from pki_helpers import OIN_A, OIN_B, Group

from nds.fsc.grouprules import load_group_rules
from nds.pki import PeerSpec, create_dev_group, create_group_ca


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Group:
    tmp = tmp_path_factory.mktemp("pki")
    dev = create_dev_group(
        tmp / "group",
        "nds-test",
        [
            PeerSpec(OIN_A, "Gemeente A", ["peer-a.test"], ["127.0.0.1"]),
            PeerSpec(OIN_B, "Gemeente B", ["peer-b.test"], ["127.0.0.1"]),
        ],
    )
    other = create_group_ca(tmp / "other-ca", "Other group")
    return Group(dev=dev, rules=load_group_rules(dev.rules_path), other_ca=other, tmp=tmp)
