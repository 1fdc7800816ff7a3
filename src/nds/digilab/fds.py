"""The DigiLab as a Federatief Datastelsel: base registers, consumer applications, logboeken and the
citizen-view portal, on top of the FSC federation the orchestrator builds.

Organisations (keys as in ``digilab.json``):

| key | role | services (behind its Inway) | application |
|---|---|---|---|
| brp | population register (BRP-like) | personen, ldv | source API + logboek |
| kadaster | address register (BAG-like) | adressen, ldv | source API + logboek |
| kvk | trade register (HR-like) | ondernemingen, ldv | source API + logboek |
| gemeente | municipality: changes of address (BRP + BAG) | ldv | consumer app + logboek |
| uitkering | benefits agency (BRP, HR); a confidential fraud inquiry | ldv | consumer app + logboek |
| saas | SaaS processor for the municipality (delegation) | ldv | consumer app + logboek |
| portaal | citizen-view portal (connects to every ``ldv``) | – | – |

Each organisation's application is one process (``nds.digilab.orgapp``) serving its source API or
consumer application under ``/v1``, its LDV read API under ``/ldv/v1`` and its register under
``/register``; the ``personen``/``adressen``/``ondernemingen`` and ``ldv`` FSC services point at it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from nds.digilab.apps.consumer import ConsumerConfig, Upstream
from nds.digilab.model import ConnectionSpec, FederationSpec, OrgSpec, ServiceSpec

ORG_KINDS = {
    "brp": "brp",
    "kadaster": "bag",
    "kvk": "hr",
    "gemeente": "gemeente",
    "uitkering": "uitkering",
    "saas": "saas",
}
CONSUMER_KINDS = ("gemeente", "uitkering", "saas")
PORTAL = "portaal"
LDV = "ldv"


def _org(key: str) -> str:
    return f"org:{key}"


def fds_federation(persons: int = 5000) -> FederationSpec:
    del persons  # the number of persons is passed to the org processes, not part of the spec
    orgs = (
        OrgSpec(
            "brp",
            "Basisregistratie Personen (BRP-achtig)",
            "00000001001000000001",
            services=(ServiceSpec("personen", _org("brp")), ServiceSpec(LDV, _org("brp"))),
        ),
        OrgSpec(
            "kadaster",
            "Kadaster – Adressen (BAG-achtig)",
            "00000001001000000002",
            services=(ServiceSpec("adressen", _org("kadaster")), ServiceSpec(LDV, _org("kadaster"))),
        ),
        OrgSpec(
            "kvk",
            "Kamer van Koophandel – Handelsregister (HR-achtig)",
            "00000001001000000006",
            services=(ServiceSpec("ondernemingen", _org("kvk")), ServiceSpec(LDV, _org("kvk"))),
        ),
        OrgSpec(
            "gemeente",
            "Gemeente Voorbeeldstad",
            "00000001001000000003",
            outway=True,
            services=(ServiceSpec(LDV, _org("gemeente")),),
        ),
        OrgSpec(
            "uitkering",
            "Uitkeringsinstantie",
            "00000001001000000004",
            outway=True,
            services=(ServiceSpec(LDV, _org("uitkering")),),
        ),
        OrgSpec(
            "saas",
            "SaaS Leverancier (verwerker voor de gemeente)",
            "00000001001000000005",
            outway=True,
            services=(ServiceSpec(LDV, _org("saas")),),
        ),
        OrgSpec(PORTAL, "Mijn Gegevens-portaal (inzage)", "00000001001000000007", outway=True),
    )
    conns = [
        ConnectionSpec("gemeente", "brp", "personen"),
        ConnectionSpec("gemeente", "kadaster", "adressen"),
        ConnectionSpec("uitkering", "brp", "personen"),
        ConnectionSpec("uitkering", "kvk", "ondernemingen"),
        ConnectionSpec("saas", "brp", "personen", on_behalf_of="gemeente"),
    ]
    conns += [ConnectionSpec(PORTAL, o.key, LDV) for o in orgs if any(s.name == LDV for s in o.services)]
    return FederationSpec(group_id="digilab", organisations=orgs, connections=tuple(conns))


def is_fds(spec: FederationSpec) -> bool:
    return any(s.source.startswith("org:") for o in spec.organisations for s in o.services)


def ensure_digid_keys(state: Path) -> tuple[Path, Path]:
    """The simulated DigiD's signing key (demo only), created once per state directory."""
    d = state / "digid"
    priv, pub = d / "private.jwk", d / "public.jwk"
    if not priv.exists():
        d.mkdir(parents=True, exist_ok=True)
        key = ECKey.generate_key("P-256", private=True)
        priv.write_text(json.dumps(key.as_dict(private=True)), encoding="utf-8")
        priv.chmod(0o600)
        pub.write_text(json.dumps(key.as_dict(private=False)), encoding="utf-8")
    return priv, pub


def public_base(inway_address: str) -> str:
    return inway_address.rstrip("/")


def orgapp_argv(
    org: OrgSpec,
    host: str,
    port: int,
    inway_address: str,
    app_dir: Path,
    digid_public: Path,
    persons: int,
    consumer_config: Path | None = None,
    db_url: str | None = None,
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "nds.digilab.orgapp",
        "--kind",
        ORG_KINDS[org.key],
        "--name",
        org.name,
        "--peer-id",
        org.peer_id,
        "--listen",
        f"{host}:{port}",
        "--public-base",
        public_base(inway_address),
        "--state",
        str(app_dir),
        "--digid-key",
        str(digid_public),
        "--persons",
        str(persons),
    ]
    if consumer_config is not None:
        argv += ["--consumer-config", str(consumer_config)]
    if db_url is not None:
        argv += ["--db-url", db_url]
    return argv


def consumer_config(
    org_key: str, outway_address: str, grants: list[dict[str, Any]], inways: dict[str, str]
) -> ConsumerConfig:
    """The consumer application's contracts: per service, the grant and the provider's read API."""
    ups: dict[str, Upstream] = {}
    for g in grants:
        if g["consumer"] != org_key or g["service"] == LDV:
            continue
        provider = inways[g["provider_peer_id"]]
        ups[g["service"]] = Upstream(g["hash"], public_base(provider) + "/ldv/v1")
    return ConsumerConfig(ORG_KINDS[org_key], outway_address.rstrip("/"), ups)


def extend_state(
    data: dict[str, Any],
    grants: list[dict[str, Any]],
    app_addresses: dict[str, str],
    digid: tuple[Path, Path],
    persons: int,
    logboek_urls: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Add what the citizen view and the traffic generator need to ``digilab.json``."""
    logboek_urls = logboek_urls or {}
    portal_grants = {
        g["provider_peer_id"]: g["hash"] for g in grants if g["consumer"] == PORTAL and g["service"] == LDV
    }
    for o in data["organisations"]:
        if o["slug"] in ORG_KINDS and o.get("inway_address"):
            o["read_api"] = public_base(o["inway_address"]) + "/ldv/v1"
            o["register"] = public_base(o["inway_address"]) + "/register/verwerkingsactiviteiten"
            o["ldv_grant_hash"] = portal_grants.get(o["peer_id"])
            o["kind"] = ORG_KINDS[o["slug"]]
        if o["slug"] in app_addresses:
            o["app_address"] = app_addresses[o["slug"]]
            app_dir = Path(o["certificate"]).parent.parent / "app"
            o["logboek"] = {
                "database": logboek_urls.get(o["slug"], f"sqlite:///{app_dir / 'logboek.db'}"),
                "keyring": str(app_dir / "pseudonym-keys.json"),
            }
    portal = next((o for o in data["organisations"] if o["slug"] == PORTAL), None)
    if portal is not None:
        data["portal"] = {
            "slug": PORTAL,
            "peer_id": portal["peer_id"],
            "outway_address": portal["outway_address"],
        }
    data["persons"] = persons
    data["digid"] = {
        "issuer": "https://digid.digilab.invalid",
        "private_jwk_path": str(digid[0]),
        "public_jwk_path": str(digid[1]),
        "demo_only": True,
    }
    return data


def what_to_try_fds(data: dict[str, Any], state: Path) -> str:
    orgs = {o["slug"]: o for o in data["organisations"]}
    lines = [f"DigiLab (Federatief Datastelsel) '{data['group_id']}' draait. State: {state}/digilab.json", ""]
    for o in [data["directory"], *data["organisations"]]:
        lines.append(f"  {o['name']:<52} {o['peer_id']}")
    lines += [
        "",
        "Laat de applicaties echt werk doen via hun Outway (synthetische testgegevens):",
        f"  nds digilab traffic --state {state} --n 20",
        "",
        "Wat ziet een burger? (test-BSN 999993653):",
        f"  nds inzage --state {state} --bsn 999993653",
        "",
        "Of roep een applicatie zelf aan, bijvoorbeeld een verhuizing bij de gemeente:",
    ]
    if "gemeente" in orgs and orgs["gemeente"].get("app_address"):
        lines.append(
            f"  curl -s {orgs['gemeente']['app_address']}/v1/verhuizingen "
            "-H 'Content-Type: application/json' "
            '-d \'{"burgerservicenummer": "999993653", "postcode": "...", "huisnummer": 1}\''
        )
    lines += [
        "",
        "Controleer daarna het logboek van een organisatie:",
        f"  nds logboek verify --db sqlite:///{state}/<org>/app/logboek.db ...",
    ]
    return "\n".join(lines)


class OrgApps:
    """Starts each FDS organisation's application process (``nds.digilab.orgapp``) for a DigiLab:
    a register's at once, a consumer application after the contracts exist (it needs its grants)."""

    def __init__(self, lab: Any) -> None:  # nds.digilab.orchestrator.DigiLab (import cycle otherwise)
        self.lab = lab
        self.addresses: dict[str, str] = {}  # org key -> http://host:port of its application
        self._pending: dict[str, str] = {}  # consumer org key -> its inway address

    def start(self, org: OrgSpec, peer: Any, inway_address: str) -> None:
        if org.key in self.addresses or org.key in self._pending:
            return
        if ORG_KINDS[org.key] in CONSUMER_KINDS:
            self._pending[org.key] = inway_address
            return
        self._spawn(org, peer, inway_address, None)

    def start_consumers(self, grants: list[dict[str, Any]]) -> None:
        lab = self.lab
        inways = {
            o.peer_id: f"https://{lab.peer(o.key).spec.host}:{lab.ports.inway}"
            for o in lab.spec.organisations
            if o.services
        }
        for key, inway_address in list(self._pending.items()):
            peer = lab.peer(key)
            cfg_path = peer.dir / "app-consumer.json"
            consumer_config(key, f"http://{peer.spec.host}:{lab.ports.outway}", grants, inways).dump(cfg_path)
            self._spawn(lab.orgs[key], peer, inway_address, cfg_path)
            del self._pending[key]

    def _spawn(self, org: OrgSpec, peer: Any, inway_address: str, consumer: Path | None) -> None:
        from nds.digilab.procs import spawn, wait_tcp

        lab = self.lab
        host, port = peer.spec.host, lab.ports.service
        _, public = ensure_digid_keys(lab.state)
        argv = orgapp_argv(
            org,
            host,
            port,
            inway_address,
            peer.dir / "app",
            public,
            lab.persons,
            consumer,
            lab.logboek_urls.get(org.key),
        )
        st = spawn(f"app {org.name}", "app", argv, peer.dir / "app.log")
        lab.started.append(st)
        wait_tcp(host, port, st, lab.state, lab.timeout)
        self.addresses[org.key] = f"http://{host}:{port}"
