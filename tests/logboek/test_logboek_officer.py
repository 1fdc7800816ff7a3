from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from nds.logboek.model import DataSubject, Processing, new_trace_id
from nds.logboek.officer import OfficerLookupError, audit_entries, officer_lookup
from nds.logboek.pseudonym import Keyring
from nds.logboek.query import Query, find
from nds.logboek.store import Logboek

ACT = "https://gemeente.example/register/verwerkingsactiviteiten/verhuizing/versies/1"
INZAGE = "https://gemeente.example/register/verwerkingsactiviteiten/inzage/versies/1"


def test_officer_lookup_is_audited_and_logged_without_the_officer(
    logboek: Logboek, keyring: Keyring, engine: Engine
) -> None:
    alice = DataSubject("999993653")
    logboek.write(Processing("adres wijzigen", ACT, (alice,), new_trace_id()))
    logboek.write(Processing("adres wijzigen", ACT, (DataSubject("999990019"),), new_trace_id()))
    found = officer_lookup(
        logboek,
        keyring,
        engine,
        officer="j.jansen",
        reason="schriftelijk inzageverzoek",
        subject=alice,
        inzage_activity_uri=INZAGE,
    )
    assert [r.name for r in found] == ["adres wijzigen", "inzageverzoek"]
    (entry,) = audit_entries(engine, "j.jansen")
    assert entry["action"] == "inzage-opvragen" and "999993653" not in str(entry)
    lookup = find(engine, keyring, Query(trace_id=entry["trace_id"]))[0]
    assert [r.name for r in lookup] == ["inzageverzoek"]
    assert "jansen" not in str(lookup[0])  # the LDV record does not hold the officer


@pytest.mark.parametrize("officer,reason", [("", "x"), ("a b", "x"), ("ok", " "), ("ok", "x" * 501)])
def test_bad_officer_or_reason_refused_before_anything_is_written(
    logboek: Logboek, keyring: Keyring, engine: Engine, officer: str, reason: str
) -> None:
    with pytest.raises(OfficerLookupError):
        officer_lookup(
            logboek,
            keyring,
            engine,
            officer=officer,
            reason=reason,
            subject=DataSubject("999993653"),
            inzage_activity_uri=INZAGE,
        )
    assert audit_entries(engine) == []
