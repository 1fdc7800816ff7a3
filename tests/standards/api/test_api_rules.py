"""Every linter rule, positive and negative, on a small document that passes them all."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from nds.standards.checks.api.lint import evaluate, lint
from nds.standards.checks.api.rules.catalog import RULES, normative, parse_version
from nds.standards.model import Status

pytestmark = pytest.mark.unit

VH = {"API-Version": {"schema": {"type": "string"}}}
PROBLEM = {
    "application/problem+json": {
        "schema": {
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "title": {"type": "string"},
                "detail": {"type": "string"},
            },
        }
    }
}


def good() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Gebouwen",
            "version": "1.0.0",
            "contact": {"name": "Beheer", "email": "beheer@example.org", "url": "https://example.org"},
        },
        "servers": [{"url": "https://api.example.org/v1"}],
        "tags": [{"name": "gebouwen"}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "operationId": "getOas",
                    "responses": {
                        "200": {
                            "description": "OK",
                            "headers": {**VH, "access-control-allow-origin": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/gebouwen/{id}": {
                "get": {
                    "operationId": "getGebouw",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "naamFilter", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "headers": VH,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Gebouw"},
                                    "example": {"bouwDatum": "2020-01-01"},
                                }
                            },
                        },
                        "400": {"description": "Fout", "content": PROBLEM},
                    },
                }
            },
            "/gebouwen/_zoek": {
                "post": {
                    "operationId": "zoek",
                    "responses": {
                        "200": {"description": "OK", "headers": VH},
                        "400": {"description": "Fout", "content": PROBLEM},
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Gebouw": {
                    "type": "object",
                    "properties": {
                        "bouwDatum": {"type": "string", "format": "date"},
                        "gewijzigd": {"type": "string", "format": "date-time"},
                        "opening": {"type": "string", "format": "time-local"},
                        "_links": {"type": "object"},
                    },
                    "example": {"bouwDatum": "2020-01-01"},
                }
            }
        },
    }


def setp(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def f(d: dict[str, Any]) -> None:
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value

    return f


def delp(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def f(d: dict[str, Any]) -> None:
        node = d
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]

    return f


G = ["paths", "/gebouwen/{id}", "get"]
PROPS = ["components", "schemas", "Gebouw", "properties"]
# rule key -> (version, mutation, expected Spectral path of the finding)
CASES: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "oas3-schema": ("2.1.0", delp(["info", "title"]), "info"),
    "operation-operationId-unique": (
        "2.1.0",
        setp([*G, "operationId"], "getOas"),
        "paths./gebouwen/{id}.get.operationId",
    ),
    "path-params": ("2.1.0", setp([*G, "parameters"], []), "paths./gebouwen/{id}.get"),
    "openapi-tags-uniqueness": ("2.1.0", setp(["tags"], [{"name": "a"}, {"name": "a"}]), "tags[1].name"),
    "oas3-valid-media-example": (
        "2.2.0",
        setp([*G, "responses", "200", "content", "application/json", "example"], {"bouwDatum": 5}),
        "paths./gebouwen/{id}.get.responses[200].content.application/json.example.bouwDatum",
    ),
    "oas3-valid-schema-example": (
        "2.2.0",
        setp(["components", "schemas", "Gebouw", "example"], {"bouwDatum": 5}),
        "components.schemas.Gebouw.example.bouwDatum",
    ),
    "oas3-server-variables": (
        "2.2.0",
        setp(["servers"], [{"url": "https://{omg}.example.org/v1"}]),
        "servers[0]",
    ),
    "oas3-api-servers": ("2.1.0", setp(["servers"], []), "servers"),
    "unrecognized-format": ("2.2.0", delp(["openapi"]), ""),
    "openapi3": ("2.1.0", setp(["openapi"], "3.1.0"), "openapi"),
    "openapi-root-exists": ("2.2.0", delp(["openapi"]), ""),
    "paths-open-api-json-resource-exists": ("2.1.0", delp(["paths", "/openapi.json"]), "paths"),
    "paths-open-api-json-resource-has-get": (
        "2.1.0",
        setp(["paths", "/openapi.json", "post"], {"responses": {}}),
        "paths./openapi.json.post",
    ),
    "paths-open-api-json-specify-cors-header": (
        "2.1.0",
        setp(["paths", "/openapi.json", "get", "responses", "200", "headers"], VH),
        "paths./openapi.json.get.responses[200].headers",
    ),
    "missing-version-header": (
        "2.1.0",
        setp([*G, "responses", "200", "headers"], {"X-Iets": {}}),
        "paths./gebouwen/{id}.get.responses[200].headers",
    ),
    "missing-header": (
        "2.1.0",
        delp([*G, "responses", "200", "headers"]),
        "paths./gebouwen/{id}.get.responses[200]",
    ),
    "include-major-version-in-uri": (
        "2.1.0",
        setp(["servers"], [{"url": "https://api.example.org/api"}]),
        "servers[0].url",
    ),
    "paths-no-trailing-slash": ("2.0.2", setp(["paths", "/panden/"], {}), "paths./panden/"),
    "path-keys-no-trailing-slash": ("2.2.0", setp(["paths", "/panden/"], {}), "paths./panden/"),
    "info-contact": ("2.1.0", delp(["info", "contact"]), "info"),
    "info-contact-fields-exist": ("2.1.0", delp(["info", "contact", "url"]), "info.contact"),
    "http-methods": (
        "2.1.0",
        setp(["paths", "/gebouwen/{id}", "head"], {"responses": {}}),
        "paths./gebouwen/{id}.head",
    ),
    "paths-kebab-case": ("2.2.0", setp(["paths", "/grote_panden"], {}), "paths./grote_panden"),
    "query-keys-camel-case": (
        "2.2.0",
        setp([*G, "parameters", 1, "name"], "naam_filter"),
        "paths./gebouwen/{id}.get.parameters[1].name",
    ),
    "schema-camel-case": (
        "2.2.0",
        setp(["components", "schemas", "gebouw_oud"], {"type": "object"}),
        "components.schemas.gebouw_oud",
    ),
    "servers-use-https": (
        "2.2.0",
        setp(["servers"], [{"url": "http://api.example.org/v1"}]),
        "servers[0].url",
    ),
    "use-problem-schema": (
        "2.2.0",
        setp([*G, "responses", "400", "content"], {"application/json": {}}),
        "paths./gebouwen/{id}.get.responses[400].content",
    ),
    "problem-schema-members": (
        "2.2.0",
        delp(
            [*G, "responses", "400", "content", "application/problem+json", "schema", "properties", "detail"]
        ),
        "paths./gebouwen/{id}.get.responses[400].content.application/problem+json.schema.properties",
    ),
    "problem-invalid-input": (
        "2.2.0",
        delp(["paths", "/gebouwen/_zoek", "post", "responses", "400"]),
        "paths./gebouwen/_zoek.post.responses",
    ),
    "date-time-ensure-timezone": (
        "2.2.0",
        setp([*PROPS, "gewijzigd", "format"], "date-time-local"),
        "components.schemas.Gebouw.properties.gewijzigd.format",
    ),
    "time-without-timezone": (
        "2.2.0",
        setp([*PROPS, "opening", "format"], "time"),
        "components.schemas.Gebouw.properties.opening.format",
    ),
    "specify-format-for-date-and-time": (
        "2.2.0",
        delp([*PROPS, "bouwDatum", "format"]),
        "components.schemas.Gebouw.properties.bouwDatum",
    ),
    "use-date-instead-of-datetime": (
        "2.2.0",
        setp([*PROPS, "bouwDatum", "format"], "date-time"),
        "components.schemas.Gebouw.properties.bouwDatum.format",
    ),
    "semver": ("2.1.0", setp(["info", "version"], "v1"), "info.version"),
}


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == {r.key for r in RULES}


@pytest.mark.parametrize("version", ["2.0.2", "2.1.0", "2.2.0"])
def test_good_document_has_no_findings(version: str) -> None:
    assert [(f.rule, f.path) for f in lint(good(), version)] == []
    assert all(r.status is Status.PASSED for r in evaluate(good(), version))


@pytest.mark.parametrize("key", sorted(CASES))
def test_rule_negative(key: str) -> None:
    version, mutate, path = CASES[key]
    doc = copy.deepcopy(good())
    mutate(doc)
    found = [f for f in lint(doc, version) if f.key == key]
    assert [f.path for f in found][:1] == [path], [(f.rule, f.path, f.message) for f in lint(doc, version)]
    spec = next(r for r in RULES if r.key == key)
    verdicts = {r.id: r for r in evaluate(doc, version)}
    rid = ("api." if normative(spec, version) else "api.advisory.") + spec.adr_id(version).lstrip("/")
    assert verdicts[rid].status is (Status.FAILED if normative(spec, version) else Status.WARNING)
    assert verdicts[rid].facts["rules_version"] == version


def test_local_refs_resolved_and_remote_refs_not_followed() -> None:
    doc = good()
    doc["paths"]["/gebouwen/{id}"]["get"]["responses"]["200"] = {"$ref": "#/components/responses/Ok"}
    doc["components"]["responses"] = {"Ok": {"description": "OK"}}
    assert [(f.rule, f.path) for f in lint(doc, "2.1.0") if f.key == "missing-header"] == [
        ("missing-header", "components.responses.Ok")
    ]
    doc["components"]["schemas"]["Extern"] = {"$ref": "https://evil.example/schema.json"}
    remote = [f for f in lint(doc, "2.1.0") if f.rule == "remote-ref"]
    assert remote and not remote[0].normative and "not followed" in remote[0].message
    doc["components"]["schemas"]["Kapot"] = {"$ref": "#/components/schemas/Bestaat-niet"}
    assert any("does not resolve" in f.message for f in lint(doc, "2.1.0"))


def test_reference_cycles_terminate() -> None:
    doc = good()
    doc["components"]["schemas"]["Gebouw"]["properties"]["deel"] = {"$ref": "#/components/schemas/Gebouw"}
    lint(doc, "2.2.0")  # must terminate


def test_reference_bomb_is_refused() -> None:
    doc = good()
    schemas = doc["components"]["schemas"]
    schemas["L0"] = {"type": "string"}
    for i in range(1, 25):
        schemas[f"L{i}"] = {
            "type": "object",
            "properties": {
                "a": {"$ref": f"#/components/schemas/L{i - 1}"},
                "b": {"$ref": f"#/components/schemas/L{i - 1}"},
            },
        }
    findings = lint(doc, "2.2.0")
    assert any("more than" in f.message for f in findings)


def test_version_aliases() -> None:
    assert (
        parse_version("2.0") == "2.0.2"
        and parse_version("v2.1") == "2.1.0"
        and parse_version("draft") == "2.2.0"
    )
    with pytest.raises(ValueError, match="unknown"):
        parse_version("3.0")


def test_not_an_object() -> None:
    verdicts = {r.id: r for r in evaluate([], "2.1.0")}
    assert verdicts["api.core/doc-openapi"].status is Status.FAILED


def test_too_deep_document_is_one_failure_and_the_rest_not_tested() -> None:
    deep: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "x", "version": "1.0.0"}, "paths": {}}
    node = deep["paths"]
    for _ in range(3000):
        node["x"] = {}
        node = node["x"]
    verdicts = {r.id: r for r in evaluate(deep, "2.1.0")}
    assert verdicts["api.core/doc-openapi"].status is Status.FAILED
    assert "nested too deeply" in verdicts["api.core/doc-openapi"].detail
    assert verdicts["api.core/semver"].status is Status.NOT_TESTED


def test_yaml_aliases_refused() -> None:
    import yaml

    from nds.standards.checks.api.retrieve import load_yaml_without_aliases

    assert load_yaml_without_aliases("openapi: 3.0.3\npaths: {}\n") == {"openapi": "3.0.3", "paths": {}}
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n"
    with pytest.raises(yaml.YAMLError, match="aliases"):
        load_yaml_without_aliases(bomb)


def test_version_header_name_is_case_insensitive() -> None:
    """Deviation from the official rule (five listed casings): the ADR says the name is case-insensitive."""
    doc = good()
    doc["paths"]["/gebouwen/{id}"]["get"]["responses"]["200"]["headers"] = {"API-VERSION": {"schema": {}}}
    assert [f for f in lint(doc, "2.1.0") if f.key == "missing-version-header"] == []
