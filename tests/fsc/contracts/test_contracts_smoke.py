import fsc_contract_factories as f
import pytest

from nds.fsc.contracts.model import parse_contract_content, to_json
from nds.fsc.contracts.versions import scheme_for

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("version", ["1.1", "draft"])
def test_every_grant_type_round_trips_and_hashes(version: str) -> None:
    for grant in (f.scg(), f.scg(delegator=f.PUB_DELEGATOR), f.dscg(), f.spg(), f.dspg(), f.prg()):
        raw = f.content(grant)
        parsed = parse_contract_content(raw, version)
        assert to_json(parsed) == raw
        scheme = scheme_for(version)
        assert scheme.content_hash(parsed).startswith("$1$1$")
        assert len(scheme.grant_hashes(parsed)) == 1
