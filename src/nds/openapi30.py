"""Turn FastAPI's OpenAPI 3.1 output into an OpenAPI 3.0.3 document that follows the NL API Design Rules.

FastAPI (with pydantic 2) emits OpenAPI 3.1 JSON Schema. The API Design Rules 2.0/2.1 ask for OpenAPI 3.0
(``/core/doc-openapi``), so the few 3.1-only constructs pydantic produces are rewritten:
``anyOf: [X, {type: null}]`` → ``X`` + ``nullable: true``; ``const`` → ``enum``; schema ``examples`` →
``example``; numeric ``exclusiveMinimum/Maximum`` → ``minimum/maximum`` + boolean flag.
Then the rules' document-level requirements are added:
- ``/core/uri-version``: ``servers`` with the versioned base path;
- ``/core/publish-openapi``: the ``/openapi.json`` resource is described;
- ``/core/version-header``: every 2xx/3xx response declares the ``API-Version`` header;
- ``/core/error-handling/invalid-input`` and ``problem-details``: FastAPI's 422 responses become 400 with
  ``application/problem+json``, declared on every operation that takes input.
"""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "format": "int32", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "format": "uri"},
        "invalidParams": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "code": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}
API_VERSION_HEADER = {
    "description": "De volledige versie van de API (semver)",
    "schema": {"type": "string", "example": "1.0.0"},
}
_INPUT_METHODS = ("put", "post", "patch")


def _schema_31_to_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_schema_31_to_30(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _schema_31_to_30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        alts = out.get(key)
        if isinstance(alts, list) and any(a == {"type": "null"} for a in alts):
            rest = [a for a in alts if a != {"type": "null"}]
            del out[key]
            if len(rest) == 1:
                only = rest[0]
                if "$ref" in only:  # 3.0 ignores siblings of $ref: wrap it
                    out["allOf"] = [only]
                else:
                    out.update(only)
            else:
                out[key] = rest
            out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out and isinstance(out["examples"], list):
        ex = out.pop("examples")
        if ex:
            out["example"] = ex[0]
    for ex_key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(ex_key), int | float) and not isinstance(out.get(ex_key), bool):
            out[bound] = out.pop(ex_key)
            out[ex_key] = True
    return out


def to_oas30(doc: dict[str, Any], base_path: str) -> dict[str, Any]:
    doc = dict(doc)
    doc["openapi"] = "3.0.3"
    doc["servers"] = [{"url": base_path}]
    components = dict(doc.get("components", {}))
    schemas = {
        k: _schema_31_to_30(v)
        for k, v in components.get("schemas", {}).items()
        if k not in ("HTTPValidationError", "ValidationError")
    }
    schemas["Problem"] = PROBLEM_SCHEMA
    components["schemas"] = schemas
    doc["components"] = components
    problem_ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    paths: dict[str, Any] = {}
    for path, item in doc.get("paths", {}).items():
        new_item: dict[str, Any] = {}
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                new_item[method] = op
                continue
            op = _schema_31_to_30(op)
            responses: dict[str, Any] = {}
            for code, resp in op["responses"].items():
                if code == "422":
                    continue
                resp = dict(resp)
                if code.startswith(("2", "3")):
                    resp["headers"] = {**resp.get("headers", {}), "API-Version": API_VERSION_HEADER}
                elif code[:1] in ("4", "5"):
                    resp["content"] = problem_ref
                responses[code] = resp
            takes_input = method in _INPUT_METHODS or bool(op.get("parameters"))
            if takes_input and "400" not in responses:
                responses["400"] = {"description": "Ongeldige invoer", "content": problem_ref}
            op["responses"] = responses
            new_item[method] = op
        paths[path] = new_item
    paths["/openapi.json"] = {
        "get": {
            "operationId": "getOpenapi",
            "summary": "Dit OpenAPI-document",
            "tags": ["OpenAPI"],
            "responses": {
                "200": {
                    "description": "OpenAPI 3.0-document",
                    "headers": {
                        "API-Version": API_VERSION_HEADER,
                        "access-control-allow-origin": {
                            "description": "Iedereen mag dit document ophalen",
                            "schema": {"type": "string", "example": "*"},
                        },
                    },
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    doc["paths"] = paths
    return doc
