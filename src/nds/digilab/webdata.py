"""What the DigiLab web pages show, read from a running federation (``DIR/digilab.json``).

Everything is fetched over the same interfaces an organisation's own tools would use, never from
another component's tables:

- contracts and their derived state: each organisation's Manager **admin API** (bearer token from
  the file named in digilab.json); accept/reject/revoke go there too, so the Manager signs with the
  organisation's own key;
- transaction logs: the Manager's FSC ``GET /v1/logs`` over **mTLS with the organisation's own
  certificate** (fsc-logging: a Peer gets the records that involve it);
- registers of processing activities and the citizen view: each organisation's public register and
  LDV read API, reached through the portal organisation's **Outway** with that organisation's
  ``ldv`` grant (``Fsc-Grant-Hash``) when digilab.json names one, else directly.

How each process is reached is one small interface, :class:`Clients`, so tests can put in-process
applications behind the HTTP boundary.
"""

from __future__ import annotations

import asyncio
import base64
import json
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from nds.inzage.transport import HttpTransport
from nds.inzage.view import CitizenView, Source, build_view

STATE_FILE = "digilab.json"
ACTIONS = ("accept", "reject", "revoke")
LOG_PAGE_MAX = 1000


class DataError(Exception):
    """A DigiLab part could not be read or refused an action; ``detail`` is safe to show."""

    def __init__(self, detail: str, status: int = 502) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class Organisation:
    slug: str
    name: str
    peer_id: str
    roles: tuple[str, ...]
    manager_address: str
    admin_url: str | None = None
    admin_token_file: str | None = None
    inway_address: str | None = None
    outway_address: str | None = None
    certificate_chain: str | None = None
    key: str | None = None
    read_api: str | None = None  # base URL of the LDV read API (…/processing-activities)
    ldv_grant_hash: str | None = None  # the portal's grant to reach this organisation's ldv service
    register: str | None = None  # its register of processing activities, when digilab.json names it

    @property
    def public_base(self) -> str | None:
        """Where the organisation's application is reached (scheme://host:port), from its read API."""
        if not self.read_api:
            return None
        u = urlsplit(self.read_api)
        return f"{u.scheme}://{u.netloc}"

    @property
    def register_url(self) -> str | None:
        if self.register:
            return self.register
        return f"{self.public_base}/register/verwerkingsactiviteiten" if self.public_base else None


@dataclass(frozen=True)
class Service:
    name: str
    provider: Organisation
    inway_address: str


@dataclass(frozen=True)
class Connection:
    """A connection grant from digilab.json: which consumer may call which service."""

    grant_hash: str
    type: str
    service: str
    provider: Organisation | None
    consumer: Organisation | None
    delegator: Organisation | None


@dataclass
class Contract:
    content_hash: str
    state: str
    grants: list[dict[str, Any]]
    not_before: int | None
    not_after: int | None
    created_at: int | None
    grant_hashes: list[str]
    signatures: dict[str, dict[str, int | None]]  # accept/reject/revoke → peer_id → signed_at
    parties: set[str] = field(default_factory=set)

    @property
    def awaiting(self) -> list[str]:
        """Parties that have not accepted yet (while proposed)."""
        if self.state != "proposed":
            return []
        return sorted(self.parties - set(self.signatures.get("accept", {})))

    def actions_for(self, peer_id: str) -> list[str]:
        """What an officer of ``peer_id`` can still do (the Manager checks again)."""
        if peer_id not in self.parties:
            return []
        if self.state == "proposed":
            return [] if peer_id in self.signatures.get("accept", {}) else ["accept", "reject"]
        if self.state in ("valid", "not_yet_valid"):
            return ["revoke"]
        return []


@dataclass(frozen=True)
class LogPage:
    records: list[dict[str, Any]]
    next_cursor: str


class Clients(Protocol):
    """How the web app reaches each process of the federation."""

    def admin(self, org: Organisation) -> httpx.AsyncClient:
        """A client for ``org``'s Manager admin API (its base URL and bearer token set)."""
        ...

    def manager(self, org: Organisation) -> httpx.AsyncClient:
        """An mTLS client presenting ``org``'s own certificate, for its Manager's FSC API."""
        ...

    def public(self) -> httpx.AsyncClient:
        """A client for organisations' applications (through the portal's Outway when routed)."""
        ...


class NetworkClients:
    """The real network: admin API over loopback HTTP, FSC API over mTLS with the org's certificate."""

    def __init__(self, trust_anchor: str | None, timeout: float = 10.0) -> None:
        self.trust_anchor = trust_anchor
        self.timeout = timeout
        # connection pools belong to one event loop: one set of clients per running loop
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, str], httpx.AsyncClient]
        ]
        self._loops = weakref.WeakKeyDictionary()

    @property
    def _cache(self) -> dict[tuple[str, str], httpx.AsyncClient]:
        return self._loops.setdefault(asyncio.get_running_loop(), {})

    def admin(self, org: Organisation) -> httpx.AsyncClient:
        key = ("admin", org.slug)
        if key not in self._cache:
            if not org.admin_url or not org.admin_token_file:
                raise DataError(f"{org.name} heeft geen beheer-API in digilab.json.", 404)
            try:
                token = Path(org.admin_token_file).read_text(encoding="utf-8").strip()
            except OSError:
                raise DataError(f"Het beheertoken van {org.name} is niet leesbaar.") from None
            self._cache[key] = httpx.AsyncClient(
                base_url=org.admin_url.rstrip("/") + "/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout,
            )
        return self._cache[key]

    def manager(self, org: Organisation) -> httpx.AsyncClient:
        key = ("manager", org.slug)
        if key not in self._cache:
            import ssl

            if not (org.certificate_chain and org.key and self.trust_anchor):
                raise DataError(f"Geen certificaat van {org.name} in digilab.json.", 404)
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.trust_anchor)
            ctx.load_cert_chain(org.certificate_chain, org.key)
            self._cache[key] = httpx.AsyncClient(
                base_url=org.manager_address, verify=ctx, timeout=self.timeout
            )
        return self._cache[key]

    def public(self) -> httpx.AsyncClient:
        key = ("public", "")
        if key not in self._cache:
            self._cache[key] = httpx.AsyncClient(timeout=self.timeout)
        return self._cache[key]

    async def aclose(self) -> None:
        cache = self._loops.pop(asyncio.get_running_loop(), {})
        for c in cache.values():
            await c.aclose()


def _org(d: dict[str, Any], portal_slug: str | None = None) -> Organisation:
    roles = tuple(str(r) for r in d.get("roles", []))
    if portal_slug and d.get("slug") == portal_slug and "portal" not in roles:
        roles = (*roles, "portal")
    return Organisation(
        slug=str(d["slug"]),
        name=str(d["name"]),
        peer_id=str(d["peer_id"]),
        roles=roles,
        manager_address=str(d.get("manager_address", "")),
        admin_url=d.get("admin_url"),
        admin_token_file=d.get("admin_token_file"),
        inway_address=d.get("inway_address"),
        outway_address=d.get("outway_address"),
        certificate_chain=d.get("certificate_chain"),
        key=d.get("key"),
        read_api=d.get("read_api"),
        ldv_grant_hash=d.get("ldv_grant_hash"),
        register=d.get("register"),
    )


def _peer_ids(value: Any) -> set[str]:
    """Every ``peer_id`` anywhere in a grant's data (outway, service, delegator, directory, …)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "peer_id" and isinstance(v, str):
                out.add(v)
            else:
                out |= _peer_ids(v)
    elif isinstance(value, list):
        for v in value:
            out |= _peer_ids(v)
    return out


def _signed_at(jws: str) -> int | None:
    """``signed_at`` from a compact JWS payload, for display only (the Manager verified it)."""
    try:
        payload = jws.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        v = data.get("signed_at")
        return int(v) if isinstance(v, int | float) else None
    except (IndexError, ValueError, TypeError, AttributeError):
        return None


def parse_contract(raw: dict[str, Any]) -> Contract:
    content = raw.get("content") or {}
    validity = content.get("validity") or {}
    grants = [g.get("data", g) for g in content.get("grants", []) if isinstance(g, dict)]
    sigs: dict[str, dict[str, int | None]] = {}
    for sig_type, by_peer in (raw.get("signatures") or {}).items():
        if isinstance(by_peer, dict):
            sigs[str(sig_type)] = {str(p): _signed_at(str(j)) for p, j in by_peer.items()}
    return Contract(
        content_hash=str(raw.get("content_hash", "")),
        state=str(raw.get("state", "unknown")),
        grants=grants,
        not_before=validity.get("not_before"),
        not_after=validity.get("not_after"),
        created_at=content.get("created_at"),
        grant_hashes=[str(h) for h in raw.get("grant_hashes", [])],
        signatures=sigs,
        parties=_peer_ids(grants),
    )


def _json_object(r: httpx.Response, who: str) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        raise DataError(f"{who} gaf geen JSON.") from None
    if not isinstance(body, dict):
        raise DataError(f"{who} gaf een onverwacht antwoord.")
    return body


def _problem_detail(r: httpx.Response) -> str:
    try:
        body = r.json()
        if isinstance(body, dict):
            return str(body.get("detail") or body.get("message") or body.get("title") or "")[:300]
    except ValueError:
        pass
    return ""


class DigiLabData:
    """One running DigiLab as the web pages see it."""

    def __init__(
        self,
        state: dict[str, Any],
        clients: Clients,
        *,
        assertion_for: Callable[[str, str], Awaitable[str]] | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.raw = state
        self.state_dir = state_dir
        self.clients = clients
        self.assertion_for = assertion_for  # (bsn, audience) -> citizen assertion JWT
        self.group_id = str(state.get("group_id", ""))
        self._route: Callable[[str], tuple[str, dict[str, str]]] | None = None
        if isinstance(state.get("portal"), dict) and state["portal"].get("outway_address"):
            from nds.inzage.digilab import router

            self._route = router(state)
        d = state.get("directory")
        self.directory = _org(d) if isinstance(d, dict) else None
        portal = state.get("portal")
        portal_slug = str(portal.get("slug")) if isinstance(portal, dict) and portal.get("slug") else None
        self.organisations = [_org(o, portal_slug) for o in state.get("organisations", [])]
        self._by_slug = {o.slug: o for o in self.organisations}
        self._by_peer = {o.peer_id: o for o in self.organisations}
        if self.directory:
            self._by_peer.setdefault(self.directory.peer_id, self.directory)
        self.services = [
            Service(str(s["name"]), self._by_slug[s["provider"]], str(s.get("inway_address", "")))
            for s in state.get("services", [])
            if s.get("provider") in self._by_slug
        ]
        self.connections = [
            Connection(
                str(g["hash"]),
                str(g.get("type", "")),
                str(g.get("service", "")),
                self._by_peer.get(str(g.get("provider_peer_id"))),
                self._by_peer.get(str(g.get("consumer_peer_id"))),
                self._by_peer.get(str(g.get("delegator_peer_id"))) if g.get("delegator_peer_id") else None,
            )
            for g in state.get("grants", [])
        ]

    @classmethod
    def from_state(cls, state_dir: Path, clients: Clients | None = None) -> DigiLabData:
        p = Path(state_dir) / STATE_FILE
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(
                f"Geen DigiLab gevonden ({p} ontbreekt). Start er een met 'make demo'.", 503
            ) from None
        except (OSError, ValueError):
            raise DataError(f"{p} is geen leesbare JSON.", 503) from None
        if not isinstance(data, dict):
            raise DataError(f"{p} is geen DigiLab-toestand.", 503)
        clients = clients or NetworkClients(data.get("trust_anchor"))
        try:
            return cls(data, clients, assertion_for=_digid_assertions(data), state_dir=Path(state_dir))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise DataError(f"{p} heeft niet de verwachte vorm (zie docs/digilab.md).", 503) from None

    # -- lookup ------------------------------------------------------------------------------

    def org(self, slug: str) -> Organisation:
        o = self._by_slug.get(slug)
        if o is None:
            raise DataError("Deze organisatie bestaat niet in de DigiLab.", 404)
        return o

    def name_of(self, peer_id: str) -> str:
        o = self._by_peer.get(peer_id)
        return o.name if o else peer_id

    # -- contracts (admin API) -------------------------------------------------------------

    async def contracts(self, slug: str) -> list[Contract]:
        org = self.org(slug)
        try:
            r = await self.clients.admin(org).get("/contracts")
        except httpx.HTTPError:
            raise DataError(f"De Manager van {org.name} is niet bereikbaar.") from None
        if r.status_code != 200:
            raise DataError(f"De Manager van {org.name} antwoordde HTTP {r.status_code}.")
        body = _json_object(r, f"De Manager van {org.name}")
        try:
            out = [parse_contract(c) for c in body.get("contracts", []) if isinstance(c, dict)]
        except (TypeError, ValueError, AttributeError):
            raise DataError(f"De Manager van {org.name} gaf contracten in een onverwachte vorm.") from None
        out.sort(key=lambda c: c.created_at or 0, reverse=True)
        return out

    async def contract_action(self, slug: str, content_hash: str, action: str) -> None:
        if action not in ACTIONS:
            raise DataError("Onbekende actie.", 400)
        org = self.org(slug)
        if not content_hash.replace("$", "").replace("_", "").replace("-", "").isalnum():
            raise DataError("Ongeldige contracthash.", 400)
        try:
            r = await self.clients.admin(org).post(f"/contracts/{content_hash}/{action}")
        except httpx.HTTPError:
            raise DataError(f"De Manager van {org.name} is niet bereikbaar.") from None
        if r.status_code >= 400:
            detail = _problem_detail(r) or f"HTTP {r.status_code}"
            raise DataError(f"De Manager weigerde de actie: {detail}", 409 if r.status_code < 500 else 502)

    # -- transaction log (FSC GET /logs over mTLS) -------------------------------------------

    async def transaction_log(
        self, slug: str, limit: int = 100, cursor: str | None = None, service: str | None = None
    ) -> LogPage:
        org = self.org(slug)
        params = {"limit": str(max(1, min(limit, LOG_PAGE_MAX))), "sort_order": "SORT_ORDER_DESCENDING"}
        if cursor:
            params["cursor"] = cursor
        if service:
            params["service_name"] = service
        try:
            r = await self.clients.manager(org).get("/v1/logs", params=params)
        except httpx.HTTPError:
            raise DataError(f"De Manager van {org.name} is niet bereikbaar.") from None
        if r.status_code != 200:
            raise DataError(f"De transactielog van {org.name} gaf HTTP {r.status_code}.")
        body = _json_object(r, f"De transactielog van {org.name}")
        return LogPage(
            [x for x in body.get("records", []) if isinstance(x, dict)],
            str((body.get("pagination") or {}).get("next_cursor") or ""),
        )

    # -- registers and citizen view ---------------------------------------------------------

    def route(self, url: str) -> tuple[str, dict[str, str]]:
        """Reach an organisation's application URL: through the portal's Outway with that
        organisation's ``ldv`` grant when digilab.json has a portal (as ``nds inzage`` does),
        else directly (a DigiLab without FSC in front of the applications, as in tests)."""
        if self._route is None:
            return url, {}
        try:
            return self._route(url)
        except Exception as exc:  # no contract to reach that organisation
            raise DataError(f"Geen verbinding geregeld met {urlsplit(url).netloc}.") from exc

    async def register(self, slug: str) -> list[dict[str, Any]]:
        org = self.org(slug)
        if not org.register_url:
            raise DataError(f"{org.name} publiceert geen register van verwerkingsactiviteiten.", 404)
        try:
            url, headers = self.route(org.register_url)
            r = await self.clients.public().get(url, headers=headers)
        except httpx.HTTPError:
            raise DataError(f"Het register van {org.name} is niet bereikbaar.") from None
        if r.status_code != 200:
            raise DataError(f"Het register van {org.name} gaf HTTP {r.status_code}.")
        acts = _json_object(r, f"Het register van {org.name}").get("verwerkingsactiviteiten", [])
        if not isinstance(acts, list):
            raise DataError(f"Het register van {org.name} gaf een onverwacht antwoord.")
        return [a for a in acts if isinstance(a, dict)]

    def service_names(self) -> list[str]:
        return sorted({s.name for s in self.services} | {c.service for c in self.connections if c.service})

    def sources(self) -> list[Source]:
        return [Source(o.name, o.peer_id, o.read_api) for o in self.organisations if o.read_api]

    async def citizen_view(self, bsn: str) -> CitizenView:
        if self.assertion_for is None:
            raise DataError("Deze DigiLab heeft geen inlogdienst voor burgers.", 503)
        assertion_for = self.assertion_for

        async def assertion(source: Source) -> str:
            return await assertion_for(bsn, source.read_api.rstrip("/"))

        transport = HttpTransport(self.clients.public(), assertion, self.route)
        return await build_view(self.sources(), transport, {"id": bsn, "type": "BSN"})


def _digid_assertions(state: dict[str, Any]) -> Callable[[str, str], Awaitable[str]] | None:
    """The simulated DigiD's signer, when digilab.json names its private key."""
    path = (state.get("digid") or {}).get("private_jwk_path")
    if not path:
        return None
    from joserfc.jwk import ECKey

    from nds.inzage.digilab import DIGID_ISSUER
    from nds.logboek.auth import issue_citizen_assertion

    key_path = Path(path)

    async def assertion(bsn: str, audience: str) -> str:
        key = ECKey.import_key(json.loads(key_path.read_text(encoding="utf-8")))
        return issue_citizen_assertion(key, DIGID_ISSUER, audience, bsn)

    return assertion
