"""The FSC contract content model: immutable dataclasses, strict parsing and exact JSON round trip.

Field names follow fsc-core ``media/specs/manager.yaml`` (``contractContent``, ``grantServicePublication``,
``grantServiceConnection``, ``grantDelegatedServiceConnection``, ``grantDelegatedServicePublication``) and
fsc-regulated-area (PeerRegistrationGrant). ``to_json(parse_contract_content(x, v)) == x`` for every
accepted ``x``: parsing rejects what it cannot represent exactly (unknown fields, non-canonical UUIDs).

Parsing checks shape, types, patterns and limits. The rules that need context (own Peer ID, Group ID,
clock, Directory) are in :mod:`nds.fsc.contracts.validation`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import rfc8785

from nds.fsc.contracts.errors import (
    CONTENT_INVALID,
    GRANT_INVALID,
    ContractFormatError,
    ErrorCode,
    brief,
)
from nds.fsc.contracts.jsonvalues import (
    MAX_SAFE_INTEGER,
    JsonObject,
    check_unicode,
    freeze_json,
    json_depth,
    load_json,
    thaw_json,
)
from nds.fsc.contracts.kinds import (
    FscVersion,
    GrantType,
    HashAlgorithm,
    MemberRole,
    Protocol,
    ServiceType,
)

# --- limits and patterns ------------------------------------------------------------------------------
GROUP_ID_PATTERN = r"^[a-zA-Z0-9./_-]{1,100}$"  # fsc-core §Group ID
SERVICE_NAME_PATTERN = r"^[a-zA-Z0-9-._]{1,100}$"  # fsc-core §ServicePublicationGrant
# serviceName schema: minLength 3, maxLength 255. Both rules are MUSTs, so a name is 3..100 characters.
SERVICE_NAME_MIN, SERVICE_NAME_MAX = 3, 100
PEER_ID_MIN, PEER_ID_MAX = 3, 255  # peerID schema
REGULATED_AREA_NAME_PATTERN = SERVICE_NAME_PATTERN  # not specified; nds reuses the service-name rule
PUBLIC_KEY_THUMBPRINT_PATTERN = r"^[0-9a-fA-F]{64}$"  # publicKeyThumbprint: hex SHA-256, 64 chars
IV_LENGTH = 36  # contractContent.iv minLength/maxLength

MAX_GRANTS = 100  # grants per contract (nds limit)
MAX_JSON_DEPTH = 32  # nesting of a whole contract body, grant properties included (nds limit)
MAX_PROPERTIES_BYTES = 1_000_000  # per grant, JCS-serialised (fsc-core draft §Properties, RECOMMENDED)
MAX_CONTRACT_JSON_BYTES = 4 * 1024 * 1024  # raw JSON body of one contract (nds limit)
MAX_TIMESTAMP = MAX_SAFE_INTEGER  # unix seconds: int64 in the schema, capped to I-JSON's exact range

_GROUP_ID_RE = re.compile(GROUP_ID_PATTERN)
_SERVICE_NAME_RE = re.compile(SERVICE_NAME_PATTERN)
_AREA_RE = re.compile(REGULATED_AREA_NAME_PATTERN)
_THUMBPRINT_RE = re.compile(PUBLIC_KEY_THUMBPRINT_PATTERN)


# --- value objects --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Validity:
    not_before: int
    not_after: int


@dataclass(frozen=True, slots=True)
class Directory:
    peer_id: str


@dataclass(frozen=True, slots=True)
class Delegator:
    peer_id: str


@dataclass(frozen=True, slots=True)
class Outway:
    peer_id: str
    public_key_thumbprint: str  # hex SHA-256 of the SubjectPublicKeyInfo DER


@dataclass(frozen=True, slots=True)
class Service:
    """``service`` / ``delegatedService`` of a (Delegated)ServiceConnectionGrant."""

    type: ServiceType
    peer_id: str
    name: str
    delegator: Delegator | None = None  # set iff type is SERVICE_TYPE_DELEGATED_SERVICE


@dataclass(frozen=True, slots=True)
class PublishedService:
    """``servicePublication`` of a (Delegated)ServicePublicationGrant."""

    peer_id: str
    name: str
    protocol: Protocol


@dataclass(frozen=True, slots=True)
class MembershipAdministrator:
    peer_id: str
    regulated_area_name: str


@dataclass(frozen=True, slots=True)
class Member:
    peer_id: str
    role: MemberRole


@dataclass(frozen=True, slots=True)
class ServicePublicationGrant:
    directory: Directory
    service: PublishedService
    properties: JsonObject | None = None
    grant_type: ClassVar[GrantType] = GrantType.SERVICE_PUBLICATION


@dataclass(frozen=True, slots=True)
class ServiceConnectionGrant:
    outway: Outway
    service: Service
    properties: JsonObject | None = None
    grant_type: ClassVar[GrantType] = GrantType.SERVICE_CONNECTION


@dataclass(frozen=True, slots=True)
class DelegatedServiceConnectionGrant:
    outway: Outway
    service: Service
    delegator: Delegator
    properties: JsonObject | None = None
    grant_type: ClassVar[GrantType] = GrantType.DELEGATED_SERVICE_CONNECTION


@dataclass(frozen=True, slots=True)
class DelegatedServicePublicationGrant:
    directory: Directory
    service: PublishedService
    delegator: Delegator
    properties: JsonObject | None = None
    grant_type: ClassVar[GrantType] = GrantType.DELEGATED_SERVICE_PUBLICATION


@dataclass(frozen=True, slots=True)
class PeerRegistrationGrant:
    """fsc-regulated-area: a Peer registers as member (or administrator) of a Regulated Area."""

    membership_administrator: MembershipAdministrator
    member: Member
    properties: JsonObject | None = None
    grant_type: ClassVar[GrantType] = GrantType.PEER_REGISTRATION


Grant = (
    ServicePublicationGrant
    | ServiceConnectionGrant
    | DelegatedServiceConnectionGrant
    | DelegatedServicePublicationGrant
    | PeerRegistrationGrant
)
PUBLICATION_GRANTS = (ServicePublicationGrant, DelegatedServicePublicationGrant)
CONNECTION_GRANTS = (ServiceConnectionGrant, DelegatedServiceConnectionGrant)


@dataclass(frozen=True, slots=True)
class ContractContent:
    iv: uuid.UUID
    group_id: str
    validity: Validity
    grants: tuple[Grant, ...]
    hash_algorithm: HashAlgorithm
    created_at: int


# --- to_json --------------------------------------------------------------------------------------------
def _service_json(service: Service) -> dict[str, Any]:
    out: dict[str, Any] = {"type": service.type.value, "peer_id": service.peer_id, "name": service.name}
    if service.delegator is not None:
        out["delegator"] = {"peer_id": service.delegator.peer_id}
    return out


def _published_json(service: PublishedService) -> dict[str, Any]:
    return {"peer_id": service.peer_id, "name": service.name, "protocol": service.protocol.value}


def grant_data_json(grant: Grant) -> dict[str, Any]:
    """The ``grant.data`` object of a grant, as plain JSON values."""
    data: dict[str, Any] = {"type": grant.grant_type.value}
    if isinstance(grant, ServicePublicationGrant | DelegatedServicePublicationGrant):
        data["directory"] = {"peer_id": grant.directory.peer_id}
        data["service"] = _published_json(grant.service)
    elif isinstance(grant, ServiceConnectionGrant | DelegatedServiceConnectionGrant):
        data["outway"] = {
            "peer_id": grant.outway.peer_id,
            "public_key_thumbprint": grant.outway.public_key_thumbprint,
        }
        data["service"] = _service_json(grant.service)
    else:
        data["membership_administrator"] = {
            "peer_id": grant.membership_administrator.peer_id,
            "regulated_area_name": grant.membership_administrator.regulated_area_name,
        }
        data["member"] = {"peer_id": grant.member.peer_id, "role": grant.member.role.value}
    if isinstance(grant, DelegatedServiceConnectionGrant | DelegatedServicePublicationGrant):
        data["delegator"] = {"peer_id": grant.delegator.peer_id}
    if grant.properties is not None:
        data["properties"] = thaw_json(grant.properties)
    return data


def to_json(content: ContractContent) -> dict[str, Any]:
    """The ``contractContent`` JSON object (plain dicts/lists), exactly as it was parsed."""
    return {
        "iv": str(content.iv),
        "group_id": content.group_id,
        "validity": {"not_before": content.validity.not_before, "not_after": content.validity.not_after},
        "grants": [{"data": grant_data_json(grant)} for grant in content.grants],
        "hash_algorithm": content.hash_algorithm.value,
        "created_at": content.created_at,
    }


# --- parsing --------------------------------------------------------------------------------------------
def _fail(path: str, message: str, code: ErrorCode = CONTENT_INVALID) -> ContractFormatError:
    return ContractFormatError(code, f"{path}: {message}")


def _object(value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Mapping:
    if not isinstance(value, Mapping):
        raise _fail(path, f"must be a JSON object, not {_json_type(value)}")
    for key in value:
        if not isinstance(key, str) or (key not in required and key not in optional):
            raise _fail(path, f"unknown field {brief(key)}")
    for key in required:
        if key not in value:
            raise _fail(path, f"required field {key!r} is missing")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _string(value: Any, path: str, min_len: int, max_len: int) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"must be a string, not {_json_type(value)}")
    check_unicode(value, path)
    if not min_len <= len(value) <= max_len:
        raise _fail(path, f"must be {min_len} to {max_len} characters long")
    return value


def _peer_id(value: Any, path: str) -> str:
    return _string(value, path, PEER_ID_MIN, PEER_ID_MAX)


def _timestamp(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"must be an integer (unix seconds), not {_json_type(value)}")
    if not 0 <= value <= MAX_TIMESTAMP:
        raise _fail(path, f"must be between 0 and {MAX_TIMESTAMP}")
    return value


def _enum(enum_cls: Any, value: Any, path: str, code: ErrorCode = CONTENT_INVALID) -> Any:
    if not isinstance(value, str):
        raise _fail(path, f"must be a string, not {_json_type(value)}", code)
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_cls)
        raise _fail(path, f"unknown value {brief(value)} (allowed: {allowed})", code) from None


def _service_name(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"must be a string, not {_json_type(value)}")
    if not (SERVICE_NAME_MIN <= len(value) <= SERVICE_NAME_MAX and _SERVICE_NAME_RE.fullmatch(value)):
        raise _fail(path, f"service name must be {SERVICE_NAME_MIN} to {SERVICE_NAME_MAX} characters "
                    f"matching {SERVICE_NAME_PATTERN}", GRANT_INVALID)
    return value


def _peer_ref(value: Any, path: str) -> str:
    return _peer_id(_object(value, path, ("peer_id",))["peer_id"], f"{path}.peer_id")


def _outway(value: Any, path: str) -> Outway:
    obj = _object(value, path, ("peer_id", "public_key_thumbprint"))
    thumb = obj["public_key_thumbprint"]
    tpath = f"{path}.public_key_thumbprint"
    if not isinstance(thumb, str) or not _THUMBPRINT_RE.fullmatch(thumb):
        raise _fail(tpath, "must be the hex SHA-256 of the public key (64 hex characters)",
                    ErrorCode.INCORRECT_PUBLIC_KEY_THUMBPRINT)
    return Outway(_peer_id(obj["peer_id"], f"{path}.peer_id"), thumb)


def _service(value: Any, path: str) -> Service:
    if not isinstance(value, Mapping):
        raise _fail(path, f"must be a JSON object, not {_json_type(value)}")
    if "type" not in value:
        raise _fail(path, "required field 'type' is missing")
    stype = _enum(ServiceType, value["type"], f"{path}.type")
    if stype is ServiceType.DELEGATED_SERVICE:
        obj = _object(value, path, ("type", "peer_id", "name", "delegator"))
        delegator: Delegator | None = Delegator(_peer_ref(obj["delegator"], f"{path}.delegator"))
    else:
        obj = _object(value, path, ("type", "peer_id", "name"))
        delegator = None
    return Service(stype, _peer_id(obj["peer_id"], f"{path}.peer_id"),
                   _service_name(obj["name"], f"{path}.name"), delegator)


def _published(value: Any, path: str) -> PublishedService:
    obj = _object(value, path, ("peer_id", "name", "protocol"))
    return PublishedService(_peer_id(obj["peer_id"], f"{path}.peer_id"),
                            _service_name(obj["name"], f"{path}.name"),
                            _enum(Protocol, obj["protocol"], f"{path}.protocol"))


def _properties(data: Mapping, path: str, version: FscVersion) -> JsonObject | None:
    if "properties" not in data:
        return None
    if version is not FscVersion.DRAFT:
        raise _fail(path, "grant properties are not part of FSC 1.1 (only of the draft)")
    value = data["properties"]
    if not isinstance(value, Mapping):
        raise _fail(f"{path}.properties", f"must be a JSON object, not {_json_type(value)}")
    # Depth: contract(1) grants(2) grant(3) data(4) properties(5).
    frozen = freeze_json(value, f"{path}.properties", MAX_JSON_DEPTH - 4)
    try:
        size = len(rfc8785.dumps(thaw_json(frozen)))
    except rfc8785.CanonicalizationError as exc:
        raise _fail(f"{path}.properties", f"not canonicalisable JSON: {exc}") from None
    if size > MAX_PROPERTIES_BYTES:
        raise _fail(f"{path}.properties", f"larger than {MAX_PROPERTIES_BYTES} bytes")
    return frozen


_GRANT_FIELDS: dict[GrantType, tuple[str, ...]] = {
    GrantType.SERVICE_PUBLICATION: ("type", "directory", "service"),
    GrantType.SERVICE_CONNECTION: ("type", "outway", "service"),
    GrantType.DELEGATED_SERVICE_CONNECTION: ("type", "outway", "service", "delegator"),
    GrantType.DELEGATED_SERVICE_PUBLICATION: ("type", "directory", "service", "delegator"),
    GrantType.PEER_REGISTRATION: ("type", "membership_administrator", "member"),
}


def parse_grant(value: Any, path: str, version: FscVersion | str) -> Grant:
    """Parse one ``grant`` object (``{"data": {...}}``)."""
    version = FscVersion(version)
    data = _object(value, path, ("data",))["data"]
    dpath = f"{path}.data"
    if not isinstance(data, Mapping):
        raise _fail(dpath, f"must be a JSON object, not {_json_type(data)}")
    if "type" not in data:
        raise _fail(dpath, "required field 'type' is missing")
    gtype = _enum(GrantType, data["type"], f"{dpath}.type", GRANT_INVALID)
    data = _object(data, dpath, _GRANT_FIELDS[gtype], ("properties",))
    props = _properties(data, dpath, version)
    if gtype is GrantType.SERVICE_PUBLICATION:
        return ServicePublicationGrant(Directory(_peer_ref(data["directory"], f"{dpath}.directory")),
                                       _published(data["service"], f"{dpath}.service"), props)
    if gtype is GrantType.DELEGATED_SERVICE_PUBLICATION:
        return DelegatedServicePublicationGrant(
            Directory(_peer_ref(data["directory"], f"{dpath}.directory")),
            _published(data["service"], f"{dpath}.service"),
            Delegator(_peer_ref(data["delegator"], f"{dpath}.delegator")), props)
    if gtype is GrantType.SERVICE_CONNECTION:
        return ServiceConnectionGrant(_outway(data["outway"], f"{dpath}.outway"),
                                      _service(data["service"], f"{dpath}.service"), props)
    if gtype is GrantType.DELEGATED_SERVICE_CONNECTION:
        return DelegatedServiceConnectionGrant(
            _outway(data["outway"], f"{dpath}.outway"), _service(data["service"], f"{dpath}.service"),
            Delegator(_peer_ref(data["delegator"], f"{dpath}.delegator")), props)
    admin = _object(data["membership_administrator"], f"{dpath}.membership_administrator",
                    ("peer_id", "regulated_area_name"))
    area = _string(admin["regulated_area_name"], f"{dpath}.membership_administrator.regulated_area_name",
                   1, 100)
    if not _AREA_RE.fullmatch(area):
        raise _fail(f"{dpath}.membership_administrator.regulated_area_name",
                    f"must match {REGULATED_AREA_NAME_PATTERN}", GRANT_INVALID)
    member = _object(data["member"], f"{dpath}.member", ("peer_id", "role"))
    return PeerRegistrationGrant(
        MembershipAdministrator(
            _peer_id(admin["peer_id"], f"{dpath}.membership_administrator.peer_id"), area
        ),
        Member(_peer_id(member["peer_id"], f"{dpath}.member.peer_id"),
               _enum(MemberRole, member["role"], f"{dpath}.member.role")),
        props)


def parse_contract_content(obj: Any, version: FscVersion | str) -> ContractContent:
    """Parse a decoded ``contractContent`` JSON object for an FSC version.

    Raises ContractFormatError(code, message) for anything that is not a well-formed contract content:
    wrong JSON types, missing or unknown fields, unknown enum values, broken patterns or limits.
    """
    version = FscVersion(version)
    path = "contract_content"
    if json_depth(obj) > MAX_JSON_DEPTH:
        raise _fail(path, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    content = _object(obj, path, ("iv", "group_id", "validity", "grants", "hash_algorithm", "created_at"))

    hash_algorithm = _enum(HashAlgorithm, content["hash_algorithm"], f"{path}.hash_algorithm",
                           ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH)

    raw_iv = content["iv"]
    if not isinstance(raw_iv, str) or len(raw_iv) != IV_LENGTH:
        raise _fail(f"{path}.iv", "must be a UUID string of 36 characters")
    try:
        iv = uuid.UUID(raw_iv)
    except ValueError:
        raise _fail(f"{path}.iv", "is not a UUID") from None
    if str(iv) != raw_iv:
        raise _fail(f"{path}.iv", "must be a UUID in canonical lower-case form")

    group_id = content["group_id"]
    if not isinstance(group_id, str):
        raise _fail(f"{path}.group_id", f"must be a string, not {_json_type(group_id)}")
    if not _GROUP_ID_RE.fullmatch(group_id):
        raise _fail(f"{path}.group_id", f"must match {GROUP_ID_PATTERN}", ErrorCode.INCORRECT_GROUP_ID)

    validity_obj = _object(content["validity"], f"{path}.validity", ("not_before", "not_after"))
    validity = Validity(_timestamp(validity_obj["not_before"], f"{path}.validity.not_before"),
                        _timestamp(validity_obj["not_after"], f"{path}.validity.not_after"))
    created_at = _timestamp(content["created_at"], f"{path}.created_at")

    raw_grants = content["grants"]
    if not isinstance(raw_grants, list | tuple):
        raise _fail(f"{path}.grants", f"must be an array, not {_json_type(raw_grants)}")
    if len(raw_grants) > MAX_GRANTS:
        raise _fail(f"{path}.grants", f"at most {MAX_GRANTS} grants per contract", GRANT_INVALID)
    grants = tuple(parse_grant(g, f"{path}.grants[{i}]", version) for i, g in enumerate(raw_grants))
    return ContractContent(iv, group_id, validity, grants, hash_algorithm, created_at)


def parse_contract_content_json(raw: bytes | str, version: FscVersion | str) -> ContractContent:
    """Decode JSON text strictly (I-JSON, size and depth limits) and parse it as contract content."""
    return parse_contract_content(
        load_json(raw, max_bytes=MAX_CONTRACT_JSON_BYTES, max_depth=MAX_JSON_DEPTH), version
    )


def grant_peer_ids(grant: Grant) -> tuple[str, ...]:
    """Every Peer ID a grant names, in field order (duplicates kept)."""
    if isinstance(grant, ServicePublicationGrant):
        return (grant.directory.peer_id, grant.service.peer_id)
    if isinstance(grant, DelegatedServicePublicationGrant):
        return (grant.directory.peer_id, grant.service.peer_id, grant.delegator.peer_id)
    if isinstance(grant, PeerRegistrationGrant):
        return (grant.membership_administrator.peer_id, grant.member.peer_id)
    ids = [grant.outway.peer_id, grant.service.peer_id]
    if grant.service.delegator is not None:
        ids.append(grant.service.delegator.peer_id)
    if isinstance(grant, DelegatedServiceConnectionGrant):
        ids.append(grant.delegator.peer_id)
    return tuple(ids)
