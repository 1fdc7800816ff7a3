"""A round with the real mail check against the DNS/SMTP lab: the shared MX is tested once per round."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dnsinfra import SmtpLab, ZoneSpec, make_cert, running_lab, tools_available

from nds.standards import report, rounds, store
from nds.standards.checks.mail.run import check_mail
from nds.standards.net import ConnectTo, NetworkConfig

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not tools_available(), reason="nsd/unbound missing: run 'make system-deps'"),
]
MX = "127.0.55.1"
AUTH = ['@ TXT "v=spf1 mx -all"', '_dmarc TXT "v=DMARC1; p=reject"', 'sel._domainkey TXT "v=DKIM1; p=MIIB"']


def test_round_shares_mx_results(tmp_path: Path, sqlite_url: str) -> None:
    ca = make_cert(["nds lab CA"], ca=True)
    leaf = make_cert(["mx.shared.test"], ca)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem())
    smtp = SmtpLab()
    try:
        port = smtp.add(MX, "starttls", [leaf, ca])
        zones = [ZoneSpec("shared.test.", [f"mx A {MX}", *AUTH])]
        zones += [ZoneSpec(f"{n}.test.", ["@ MX 10 mx.shared.test.", *AUTH]) for n in ("een", "twee", "drie")]
        zones.append(
            ZoneSpec("nullmx.test.", ["@ MX 0 .", '@ TXT "v=spf1 -all"', '_dmarc TXT "v=DMARC1; p=reject"'])
        )
        with running_lab(zones) as dns:
            net = NetworkConfig(
                connect_to=(ConnectTo(MX, 25, MX, port),),
                resolver=dns.resolver,
                ca_file=ca_file,
                timeout=5.0,
                dns_timeout=2.0,
                retries=1,
                extra={"smtp_retry_delay": "0.2", "ehlo_name": "checker.test"},
            )
            engine = store.open_store(sqlite_url)
            targets = "organisatie,type,domein,web,mail\n" + "".join(
                f"Gemeente {n},gemeente,{n}.test,nee,ja\n" for n in ("een", "twee", "drie")
            )
            targets += "Stichting Null,stichting,nullmx.test,nee,ja\n"
            rid = store.create_round(engine, "mail", "ncsc-2025-05", "t.csv", rounds.parse_targets(targets))
            stats = asyncio.run(rounds.run_round(engine, rid, net, rounds.Checkers.default(), concurrency=8))
            in_round = smtp.connections[(MX, port)]
            asyncio.run(check_mail("een.test", net, "ncsc-2025-05"))
            one_domain = smtp.connections[(MX, port)] - in_round
    finally:
        smtp.stop()
    assert stats.done == 4 and stats.errors == 0
    # three domains behind one MX: the MX is tested once in the round, as often as for a single domain
    assert in_round == one_domain > 0
    s = report.summarise(engine, rid)
    assert s.overall and all(r.outcome == "done" for r in s.rows)
    per_domain = {r.domain: r.standards for r in s.rows}
    assert per_domain["een.test"] == per_domain["twee.test"] == per_domain["drie.test"]
