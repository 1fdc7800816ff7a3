"""The OpenAPI document of this Manager (served at GET /v1/openapi.json).

Written for nds from the shapes of fsc-core media/specs/manager.yaml (paths, parameters, bodies,
error objects); it describes exactly what this implementation accepts and answers, including the
nds choices (error statuses for malformed bodies, 413 for too-large bodies).
"""

from __future__ import annotations

from functools import cache
from typing import Any

PEER_ID = {"type": "string", "minLength": 3, "maxLength": 255}
HASH = {"type": "string", "maxLength": 1024}
ERROR = {"$ref": "#/components/schemas/error"}


def _err(desc: str) -> dict[str, Any]:
    return {
        "description": desc,
        "headers": {"Fsc-Error-Code": {"schema": {"type": "string"}, "required": True}},
        "content": {"application/json": {"schema": ERROR}},
    }


def _write_errors() -> dict[str, Any]:
    return {
        "400": _err("Bad request"),
        "413": _err("Request body too large"),
        "415": _err("Unsupported content type"),
        "422": _err("Unprocessable content"),
    }


PAGINATION = [
    {"in": "query", "name": "cursor", "schema": {"type": "string", "maxLength": 1024}, "required": False},
    {
        "in": "query",
        "name": "limit",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
        "required": False,
    },
    {
        "in": "query",
        "name": "sort_order",
        "required": False,
        "schema": {"type": "string", "enum": ["SORT_ORDER_ASCENDING", "SORT_ORDER_DESCENDING"]},
    },
]
MANAGER_ADDRESS = {
    "in": "header",
    "name": "Fsc-Manager-Address",
    "required": True,
    "schema": {"type": "string", "example": "https://manager.example:8443"},
}
HASH_PARAM = {"in": "path", "name": "hash", "required": True, "schema": {"type": "string"}}


def _signature_op(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [MANAGER_ADDRESS, HASH_PARAM],
        "requestBody": {"$ref": "#/components/requestBodies/signatureRequest"},
        "responses": {"201": {"description": "Signature created"}, **_write_errors()},
    }


def _list_response(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "200": {
            "description": key,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            key: {"type": "array", "items": item},
                            "pagination": {"$ref": "#/components/schemas/paginationResult"},
                        },
                        "required": [key, "pagination"],
                    }
                }
            },
        },
        "400": _err("Bad request"),
    }


GRANT_TYPE = {
    "type": "string",
    "enum": [
        "GRANT_TYPE_SERVICE_PUBLICATION",
        "GRANT_TYPE_SERVICE_CONNECTION",
        "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION",
        "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION",
        "GRANT_TYPE_PEER_REGISTRATION",
    ],
}


@cache
def openapi_document() -> dict[str, Any]:
    grant_data: dict[str, Any] = {
        "type": "object",
        "properties": {
            "type": {
                "type": "string",
                "enum": [
                    "GRANT_TYPE_SERVICE_PUBLICATION",
                    "GRANT_TYPE_SERVICE_CONNECTION",
                    "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION",
                    "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION",
                    "GRANT_TYPE_PEER_REGISTRATION",
                ],
            },
        },
        "required": ["type"],
        "additionalProperties": True,
    }
    content = {
        "type": "object",
        "properties": {
            "iv": {"type": "string", "minLength": 36, "maxLength": 36},
            "group_id": {"type": "string"},
            "validity": {
                "type": "object",
                "properties": {
                    "not_before": {"type": "integer", "format": "int64", "minimum": 0},
                    "not_after": {"type": "integer", "format": "int64", "minimum": 0},
                },
                "required": ["not_before", "not_after"],
            },
            "grants": {
                "type": "array",
                "items": {"type": "object", "properties": {"data": grant_data}, "required": ["data"]},
            },
            "hash_algorithm": {"type": "string", "enum": ["HASH_ALGORITHM_SHA3_512"]},
            "created_at": {"type": "integer", "format": "int64", "minimum": 0},
        },
        "required": ["iv", "group_id", "validity", "grants", "hash_algorithm", "created_at"],
    }
    sig_map = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "nds FSC Manager",
            "version": "1.0.0",
            "description": "FSC Manager API of nds (fsc-core manager.yaml, with fsc-logging and "
            "fsc-regulated-area endpoints).",
        },
        "servers": [{"url": "/v1"}],
        "paths": {
            "/announce": {
                "put": {
                    "summary": "Announce a Peer",
                    "parameters": [MANAGER_ADDRESS],
                    "responses": {"200": {"description": "Announced"}, "400": _err("Bad request")},
                }
            },
            "/contracts": {
                "post": {
                    "summary": "Submit a contract",
                    "parameters": [MANAGER_ADDRESS],
                    "requestBody": {"$ref": "#/components/requestBodies/signatureRequest"},
                    "responses": {"201": {"description": "Contract created"}, **_write_errors()},
                },
                "get": {
                    "summary": "Contracts involving the caller",
                    "parameters": [
                        *PAGINATION,
                        {
                            "in": "query",
                            "name": "grant_type",
                            "required": False,
                            "schema": GRANT_TYPE,
                        },
                        {
                            "in": "query",
                            "name": "grant_hash",
                            "required": False,
                            "style": "form",
                            "explode": False,
                            "schema": {"type": "array", "items": HASH, "maxItems": 20},
                        },
                    ],
                    "responses": _list_response("contracts", {"$ref": "#/components/schemas/contract"}),
                },
            },
            "/contracts/{hash}/accept": {"put": _signature_op("Accept a contract")},
            "/contracts/{hash}/reject": {"put": _signature_op("Reject a contract")},
            "/contracts/{hash}/revoke": {"put": _signature_op("Revoke a contract")},
            "/token": {
                "post": {
                    "summary": "Access token (OAuth 2.0 client credentials over mTLS)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                        "scope": HASH,
                                        "client_id": PEER_ID,
                                    },
                                    "required": ["grant_type", "scope", "client_id"],
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Token",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "access_token": {"type": "string"},
                                            "token_type": {"type": "string", "enum": ["bearer"]},
                                            "expires_in": {"type": "integer"},
                                        },
                                        "required": ["access_token", "token_type"],
                                    }
                                }
                            },
                        },
                        "400": {
                            "description": "OAuth error",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "error": {
                                                "type": "string",
                                                "enum": [
                                                    "invalid_request",
                                                    "invalid_client",
                                                    "invalid_grant",
                                                    "invalid_scope",
                                                    "unauthorized_client",
                                                    "unsupported_grant_type",
                                                ],
                                            },
                                            "error_description": {"type": "string"},
                                        },
                                        "required": ["error"],
                                    }
                                }
                            },
                        },
                    },
                }
            },
            "/peer": {
                "get": {
                    "summary": "This Peer",
                    "responses": {
                        "200": {
                            "description": "Peer",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "peer_id": PEER_ID,
                                            "peer_name": {"type": "string"},
                                            "fsc_version": {"type": "string"},
                                            "enabled_extensions": {
                                                "type": "object",
                                                "additionalProperties": {"type": "string"},
                                            },
                                        },
                                        "required": [
                                            "peer_id",
                                            "peer_name",
                                            "fsc_version",
                                            "enabled_extensions",
                                        ],
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/peers": {
                "get": {
                    "summary": "Known Peers",
                    "parameters": [
                        *PAGINATION,
                        {
                            "in": "query",
                            "name": "peer_name",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 255},
                        },
                        {
                            "in": "query",
                            "name": "peer_id",
                            "required": False,
                            "style": "form",
                            "explode": False,
                            "schema": {"type": "array", "items": PEER_ID, "maxItems": 10},
                        },
                    ],
                    "responses": _list_response("peers", {"$ref": "#/components/schemas/peer"}),
                }
            },
            "/services": {
                "get": {
                    "summary": "Published Services",
                    "parameters": [
                        *PAGINATION,
                        {"in": "query", "name": "peer_id", "required": False, "schema": PEER_ID},
                        {
                            "in": "query",
                            "name": "service_name",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 255},
                        },
                    ],
                    "responses": _list_response(
                        "services",
                        {
                            "type": "object",
                            "properties": {"type": {"type": "string"}, "data": {"type": "object"}},
                            "required": ["type", "data"],
                        },
                    ),
                }
            },
            "/.well-known/jwks.json": {
                "get": {
                    "summary": "JSON Web Key Set",
                    "responses": {
                        "200": {
                            "description": "JWKS",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "keys": {"type": "array", "items": {"type": "object"}}
                                        },
                                        "required": ["keys"],
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/logs": {
                "get": {
                    "summary": "TransactionLog records involving the caller (fsc-logging)",
                    "parameters": [*PAGINATION[:2]],
                    "responses": {
                        "200": {
                            "description": "Records",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": _err("Bad request"),
                    },
                }
            },
            "/internal/outway/grants": {
                "get": {
                    "summary": "nds extension, not FSC: the valid connection grants pinned to the "
                    "caller's key, for Outways of this Manager's own Peer (others get 403)",
                    "parameters": [
                        {
                            "name": "If-None-Match",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Grants",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "304": {"description": "Unchanged since the ETag given in If-None-Match"},
                        "403": _err("The client certificate belongs to another Peer"),
                    },
                }
            },
        },
        "components": {
            "requestBodies": {
                "signatureRequest": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "contract_content": {"$ref": "#/components/schemas/contractContent"},
                                    "signature": {"type": "string"},
                                },
                                "required": ["contract_content", "signature"],
                            }
                        }
                    },
                }
            },
            "schemas": {
                "contractContent": content,
                "contract": {
                    "type": "object",
                    "properties": {
                        "content": {"$ref": "#/components/schemas/contractContent"},
                        "signatures": {
                            "type": "object",
                            "properties": {"accept": sig_map, "reject": sig_map, "revoke": sig_map},
                            "required": ["accept", "reject", "revoke"],
                        },
                    },
                    "required": ["content", "signatures"],
                },
                "peer": {
                    "type": "object",
                    "properties": {
                        "id": PEER_ID,
                        "name": {"type": "string"},
                        "manager_address": {"type": "string"},
                    },
                    "required": ["id", "name", "manager_address"],
                },
                "paginationResult": {"type": "object", "properties": {"next_cursor": {"type": "string"}}},
                "error": {
                    "type": "object",
                    "properties": {
                        "message": {"type": "string"},
                        "domain": {"type": "string", "enum": ["ERROR_DOMAIN_MANAGER"]},
                        "code": {"type": "string"},
                    },
                    "required": ["message", "domain", "code"],
                },
            },
        },
    }
