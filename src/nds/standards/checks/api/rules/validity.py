"""Rules that the document is a valid OpenAPI description (/core/doc-openapi, /core/publish-openapi)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from nds.standards.checks.api.rules.base import (
    METHODS,
    Finding,
    _dedupe,
    _params,
    _servers,
    is_oas3,
    operations,
    rule,
)
from nds.standards.checks.api.rules.doc import Oas, Path

# -- the document is a valid OpenAPI description ------------------------------------------------


@rule("oas3-schema")
def oas3_schema(oas: Oas, _version: str) -> list[Finding]:
    """Validate against the OAS 3.0 / 3.1 JSON Schema, reporting each error at its deepest location.

    For 3.0 the pure-Python ``jsonschema`` descends into ``oneOf``/``anyOf`` alternatives (as Spectral's
    AJV does: an invalid header is reported at the header, not at the response); 3.1 uses the bundled
    validator of openapi-spec-validator (its schema relies on dynamic references).
    """
    version = str(oas.doc.get("openapi", ""))
    out: list[Finding] = []
    try:
        for path, message in _schema_errors(oas.doc, version.startswith("3.1")):
            out.append(Finding("oas3-schema", path, message[:300]))
            if len(out) >= 50:
                break
    except (ValueError, RecursionError) as exc:  # jsonschema-rs: "Recursion limit reached"
        raise RecursionError(str(exc)) from None
    return _dedupe(out)


def _schema_errors(doc: Any, v31: bool) -> Iterator[tuple[Path, str]]:
    if v31:
        from openapi_spec_validator.schemas import openapi_v31_schema_validator

        for err in openapi_v31_schema_validator.iter_errors(doc):
            yield (
                tuple(str(p) if not isinstance(p, int) else p for p in err.absolute_path),
                str(err.message).splitlines()[0],
            )
        return
    import jsonschema
    from openapi_spec_validator.schemas import schema_v30

    for err in jsonschema.Draft4Validator(dict(schema_v30)).iter_errors(doc):
        deepest = _deepest(err)
        yield tuple(deepest.absolute_path), str(deepest.message).splitlines()[0]


def _deepest(err: Any) -> Any:
    """The most specific error inside ``oneOf``/``anyOf`` alternatives (the longest instance path)."""
    while err.context:
        best = max(err.context, key=lambda e: len(e.absolute_path))
        if len(best.absolute_path) < len(err.absolute_path):
            break
        err = best
    return err


@rule("operation-operationId-unique")
def operation_id_unique(oas: Oas, _v: str) -> list[Finding]:
    seen: set[str] = set()
    out = []
    for _p, _m, op, opath in operations(oas):
        oid = op.get("operationId")
        if isinstance(oid, str):
            if oid in seen:
                out.append(
                    Finding(
                        "operation-operationId-unique",
                        (*opath, "operationId"),
                        'Every operation must have unique "operationId".',
                    )
                )
            seen.add(oid)
    return out


@rule("path-params")
def path_params(oas: Oas, _v: str) -> list[Finding]:
    out: list[Finding] = []
    paths = oas.get(oas.doc, (), "paths")
    if paths is None or not isinstance(paths[0], dict):
        return out
    normalised: dict[str, str] = {}
    for pkey, item, ipath in oas.children(*paths):
        pkey = str(pkey)
        if not isinstance(item, dict):
            continue
        templ = re.findall(r"{([^}]+)}", pkey)
        norm = re.sub(r"{[^}]+}", "{}", pkey)
        if norm in normalised:
            out.append(
                Finding(
                    "path-params", ipath, f'Paths "{normalised[norm]}" and "{pkey}" must not be equivalent.'
                )
            )
        normalised.setdefault(norm, pkey)
        for dup in {t for t in templ if templ.count(t) > 1}:
            out.append(
                Finding(
                    "path-params", ipath, f'Path "{pkey}" must not use parameter "{{{dup}}}" multiple times.'
                )
            )
        top = {p.get("name"): pp for p, pp in _params(oas, item, ipath) if p.get("in") == "path"}
        for method in METHODS:
            op = oas.get(item, ipath, method)
            if op is None or not isinstance(op[0], dict):
                continue
            declared = dict(top)
            for p, pp in _params(oas, *op):
                if p.get("in") == "path":
                    declared[p.get("name")] = pp
                    if p.get("required") is not True:
                        out.append(
                            Finding(
                                "path-params",
                                pp,
                                f'Path parameter "{p.get("name")}" must have "required": true.',
                            )
                        )
            for t in templ:
                if t not in declared:
                    out.append(
                        Finding(
                            "path-params",
                            op[1],
                            f'Operation must define parameter "{{{t}}}" as expected by path "{pkey}".',
                        )
                    )
            for name, pp in declared.items():
                if name not in templ:
                    out.append(
                        Finding("path-params", pp, f'Parameter "{name}" must be used in path "{pkey}".')
                    )
    return _dedupe(out)


@rule("openapi-tags-uniqueness")
def tags_unique(oas: Oas, _v: str) -> list[Finding]:
    tags = oas.doc.get("tags")
    out = []
    if isinstance(tags, list):
        seen: set[Any] = set()
        for i, t in enumerate(tags):
            name = t.get("name") if isinstance(t, dict) else None
            if name in seen:
                out.append(
                    Finding(
                        "openapi-tags-uniqueness",
                        ("tags", i, "name"),
                        f'"tags" object contains duplicate tag name "{name}".',
                    )
                )
            seen.add(name)
    return out


def _schema_validator(oas: Oas, schema: Any) -> Any:
    """A JSON Schema validator for an OAS schema, with local refs served from the document."""
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT4, DRAFT202012

    spec = DRAFT202012 if str(oas.doc.get("openapi", "")).startswith("3.1") else DRAFT4
    registry: Registry[Any] = Registry().with_resource("urn:nds:oas", spec.create_resource(oas.doc))

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: rewrite(v) for k, v in node.items() if not (k == "nullable" and spec is DRAFT4)}
            ref = node.get("$ref")
            if isinstance(ref, str):
                out["$ref"] = "urn:nds:oas" + ref if ref.startswith("#") else "urn:nds:unresolvable"
            if spec is DRAFT4 and node.get("nullable") is True and "type" in node:
                t = node["type"]
                out["type"] = [*t, "null"] if isinstance(t, list) else [t, "null"]
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    cls = jsonschema.Draft202012Validator if spec is DRAFT202012 else jsonschema.Draft4Validator
    return cls(rewrite(schema), registry=registry, format_checker=_formats())


#: Spectral validates examples with AJV and ajv-formats in "fast" mode: the time zone of a date-time
#: and a time is optional there. We check these formats the same way (see the differential test).
_FAST_FORMATS = {
    "date": r"^\d\d\d\d-[0-1]\d-[0-3]\d$",
    "time": r"^(?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?)?$",
    "date-time": r"^\d\d\d\d-[0-1]\d-[0-3]\d[t\s](?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?"
    r"(?:z|[+-]\d\d(?::?\d\d)?)?$",
}


def _formats() -> Any:
    import jsonschema

    checker = jsonschema.FormatChecker()
    for name, pattern in _FAST_FORMATS.items():
        rx = re.compile(pattern, re.IGNORECASE)

        def check(value: object, rx: re.Pattern[str] = rx) -> bool:
            return not isinstance(value, str) or rx.match(value) is not None

        checker.checks(name)(check)
    return checker


def _example_errors(oas: Oas, schema: Any, value: Any) -> tuple[Path, str] | None:
    """The first error of ``value`` against ``schema`` (formats checked as AJV does): (path, message)."""
    import jsonschema
    import referencing.exceptions

    try:
        err = jsonschema.exceptions.best_match(_schema_validator(oas, schema).iter_errors(value))
    except (referencing.exceptions.Unresolvable, jsonschema.exceptions.SchemaError, RecursionError):
        return None  # cannot judge: unresolvable reference or an invalid schema (oas3-schema reports it)
    if err is None:
        return None
    return tuple(err.absolute_path), str(err.message)[:200]


@rule("oas3-valid-media-example")
def valid_media_example(oas: Oas, _v: str) -> list[Finding]:
    out = []
    for key, node, path in oas.walk():
        if key != "content" or not isinstance(node, dict):
            continue
        for _mt, media, mpath in oas.children(node, path):
            if not isinstance(media, dict) or "schema" not in media:
                continue
            schema = media["schema"]
            samples: list[tuple[Any, Path]] = []
            if "example" in media:
                samples.append((media["example"], (*mpath, "example")))
            ex = oas.get(media, mpath, "examples")
            if ex is not None and isinstance(ex[0], dict):
                for _n, e, epath in oas.children(*ex):
                    if isinstance(e, dict) and "value" in e:
                        samples.append((e["value"], (*epath, "value")))
            for value, vpath in samples:
                found = _example_errors(oas, schema, value)
                if found:
                    out.append(
                        Finding(
                            "oas3-valid-media-example", (*vpath, *found[0]), f'"example" property {found[1]}'
                        )
                    )
    return _dedupe(out)


@rule("oas3-valid-schema-example")
def valid_schema_example(oas: Oas, _v: str) -> list[Finding]:
    out = []
    for key, node, path in oas.walk():
        if not isinstance(node, dict) or key in ("properties", "examples") or "example" not in node:
            continue
        if key in ("content",) or not (
            "type" in node or "properties" in node or "$ref" in node or "allOf" in node
        ):
            continue
        if "schema" in node:  # a media type or parameter object: oas3-valid-media-example's business
            continue
        schema = {k: v for k, v in node.items() if k != "example"}
        found = _example_errors(oas, schema, node["example"])
        if found:
            out.append(
                Finding(
                    "oas3-valid-schema-example",
                    (*path, "example", *found[0]),
                    f'"example" property {found[1]}',
                )
            )
    return _dedupe(out)


@rule("oas3-server-variables")
def server_variables(oas: Oas, _v: str) -> list[Finding]:
    out = []
    for server, spath in _servers(oas):
        url = server.get("url")
        if not isinstance(url, str):
            continue
        used = re.findall(r"{([^}]+)}", url)
        raw_vars = server.get("variables")
        variables: dict[str, Any] = raw_vars if isinstance(raw_vars, dict) else {}
        for name in used:
            if name not in variables:
                out.append(
                    Finding(
                        "oas3-server-variables",
                        spath,
                        f'Server variable "{name}" is not described in "variables".',
                    )
                )
        for name, var in variables.items():
            if name not in used:
                out.append(
                    Finding(
                        "oas3-server-variables",
                        (*spath, "variables", name),
                        f'Server\'s "variables" object has unused defined "{name}" variable.',
                    )
                )
            if (
                isinstance(var, dict)
                and isinstance(var.get("enum"), list)
                and var.get("default") not in var["enum"]
            ):
                out.append(
                    Finding(
                        "oas3-server-variables",
                        (*spath, "variables", name, "default"),
                        f'Server variable "{name}" has a default not listed in the enum.',
                    )
                )
    return out


@rule("oas3-api-servers")
def api_servers(oas: Oas, _v: str) -> list[Finding]:
    servers = oas.doc.get("servers")
    if servers is None:
        return [Finding("oas3-api-servers", (), 'OpenAPI "servers" must be present and non-empty array.')]
    if not isinstance(servers, list) or not servers:
        return [
            Finding(
                "oas3-api-servers", ("servers",), 'OpenAPI "servers" must be present and non-empty array.'
            )
        ]
    return []


@rule("unrecognized-format")
def unrecognized_format(oas: Oas, _v: str) -> list[Finding]:
    doc = oas.doc
    known = isinstance(doc, dict) and (is_oas3(doc) or doc.get("swagger") == "2.0")
    return (
        []
        if known
        else [Finding("unrecognized-format", (), "The document is not an OpenAPI 3.x (or 2.0) description.")]
    )
