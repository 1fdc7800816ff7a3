"""The NL API Design Rules proper: version header, URI version, naming, errors, dates, SemVer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from nds.standards.checks.api.rules.base import (
    _PASCAL,
    _STATUS_2XX_3XX,
    _VERSION_HEADER,
    ALLOWED_METHODS,
    CAMEL_QUERY_KEY,
    KEBAB_PATH,
    METHODS,
    SEMVER,
    Finding,
    _dedupe,
    _params,
    _servers,
    rule,
)
from nds.standards.checks.api.rules.doc import Oas, Path

# -- /core/doc-openapi ---------------------------------------------------------------------------


@rule("openapi3")
def openapi3(oas: Oas, version: str) -> list[Finding]:
    value = oas.doc.get("openapi") if isinstance(oas.doc, dict) else None
    if value is None:
        return []  # openapi-root-exists reports the missing field
    pattern = r"^3(.\d+){1,2}$" if version == "2.2.0" else r"^3.0.*$"
    if isinstance(value, str) and re.search(pattern, value):
        return []
    return [
        Finding(
            "openapi3",
            ("openapi",),
            "Use an OpenAPI Specification version 3 document"
            + (" (3.0.x for this rules version)." if version != "2.2.0" else "."),
        )
    ]


@rule("openapi-root-exists")
def openapi_root_exists(oas: Oas, _v: str) -> list[Finding]:
    if isinstance(oas.doc, dict) and oas.doc.get("openapi"):
        return []
    return [
        Finding("openapi-root-exists", (), "The root of the document must contain the `openapi` property.")
    ]


# -- /core/publish-openapi in 2.1.0: the description must describe GET /openapi.json with CORS --


@rule("paths-open-api-json-resource-exists")
def oas_json_exists(oas: Oas, _v: str) -> list[Finding]:
    paths = oas.doc.get("paths")
    if isinstance(paths, dict) and paths.get("/openapi.json"):
        return []
    return [
        Finding(
            "paths-open-api-json-resource-exists",
            ("paths",) if isinstance(paths, dict) else (),
            "There is no resource `/openapi.json` that returns the OpenAPI document.",
        )
    ]


@rule("paths-open-api-json-resource-has-get")
def oas_json_get(oas: Oas, _v: str) -> list[Finding]:
    paths = oas.doc.get("paths")
    item = paths.get("/openapi.json") if isinstance(paths, dict) else None
    if not isinstance(item, dict):
        return []
    return [
        Finding(
            "paths-open-api-json-resource-has-get",
            ("paths", "/openapi.json", k),
            "`/openapi.json` must offer GET (and no other methods).",
        )
        for k in item
        if not re.search("get", k)
    ]


@rule("paths-open-api-json-specify-cors-header")
def oas_json_cors(oas: Oas, _v: str) -> list[Finding]:
    base = oas.get(oas.doc, (), "paths")
    item = oas.get(*base, "/openapi.json") if base else None
    op = oas.get(*item, "get") if item else None
    responses = oas.get(*op, "responses") if op else None
    out: list[Finding] = []
    if responses is None or not isinstance(responses[0], dict):
        return out
    for code, resp, rpath in oas.children(*responses):
        if not _STATUS_2XX_3XX.search(str(code)) or not isinstance(resp, dict):
            continue
        headers = oas.get(resp, rpath, "headers")
        if headers is None:
            continue
        if not isinstance(headers[0], dict) or not headers[0].get("access-control-allow-origin"):
            out.append(
                Finding(
                    "paths-open-api-json-specify-cors-header",
                    headers[1],
                    "The `/openapi.json` response must declare `access-control-allow-origin` (value `*`).",
                )
            )
    return out


# -- /core/version-header ------------------------------------------------------------------------


def _responses_2xx_3xx(oas: Oas) -> Iterator[tuple[Any, Path]]:
    for responses, rpath in oas.by_key("responses"):
        if not isinstance(responses, dict):
            continue
        for code, resp, path in oas.children(responses, rpath):
            if _STATUS_2XX_3XX.search(str(code)):
                yield resp, path


@rule("missing-header")
def missing_header(oas: Oas, _v: str) -> list[Finding]:
    return _dedupe(
        [
            Finding(
                "missing-header", path, "Return the full version number in a response header (no `headers`)."
            )
            for resp, path in _responses_2xx_3xx(oas)
            if isinstance(resp, dict) and not resp.get("headers")
        ]
    )


@rule("missing-version-header")
def missing_version_header(oas: Oas, _v: str) -> list[Finding]:
    out = []
    for resp, path in _responses_2xx_3xx(oas):
        if not isinstance(resp, dict):
            continue
        headers = oas.get(resp, path, "headers")
        if headers is None or not isinstance(headers[0], dict) or not headers[0]:
            continue
        # The ADR says the header name is case-insensitive; the official linter lists five casings.
        if not any(str(k).lower() == _VERSION_HEADER for k in headers[0]):
            out.append(
                Finding(
                    "missing-version-header",
                    headers[1],
                    "Return the full version number in the API-Version response header.",
                )
            )
    return _dedupe(out)


# -- /core/uri-version, /core/no-trailing-slash, /core/doc-openapi-contact -----------------------


@rule("include-major-version-in-uri")
def major_version_in_uri(oas: Oas, _v: str) -> list[Finding]:
    servers = oas.doc.get("servers")
    out = []
    if isinstance(servers, list):
        for i, s in enumerate(servers):
            url = s.get("url") if isinstance(s, dict) else None
            if isinstance(url, str) and not re.search(r"\/v[\d+]", url):
                out.append(
                    Finding(
                        "include-major-version-in-uri",
                        ("servers", i, "url"),
                        "Include the major version number in the URI (e.g. `/v1`).",
                    )
                )
    return out


def _path_keys(oas: Oas) -> list[str]:
    paths = oas.doc.get("paths") if isinstance(oas.doc, dict) else None
    return [str(k) for k in paths] if isinstance(paths, dict) else []


@rule("path-keys-no-trailing-slash")
def path_keys_no_trailing_slash(oas: Oas, _v: str) -> list[Finding]:
    return [
        Finding("path-keys-no-trailing-slash", ("paths", k), "Path must not end with slash.")
        for k in _path_keys(oas)
        if k.endswith("/") and k != "/"
    ]


@rule("paths-no-trailing-slash")
def paths_no_trailing_slash(oas: Oas, _v: str) -> list[Finding]:
    return [
        Finding("paths-no-trailing-slash", ("paths", k), "Leave off trailing slashes from URIs.")
        for k in _path_keys(oas)
        if re.search(r".+\/$", k)
    ]


@rule("info-contact")
def info_contact(oas: Oas, _v: str) -> list[Finding]:
    info = oas.doc.get("info")
    if isinstance(info, dict) and info.get("contact"):
        return []
    return [
        Finding(
            "info-contact",
            ("info",) if isinstance(info, dict) else (),
            'Info object must have "contact" object.',
        )
    ]


@rule("info-contact-fields-exist")
def info_contact_fields(oas: Oas, _v: str) -> list[Finding]:
    info = oas.doc.get("info")
    contact = info.get("contact") if isinstance(info, dict) else None
    if not isinstance(contact, dict):
        return []
    missing = [f for f in ("email", "name", "url") if f not in contact]
    if not missing:
        return []
    return [
        Finding(
            "info-contact-fields-exist",
            ("info", "contact"),
            f"Missing fields in `info.contact`: {', '.join(missing)} (email, name and url are required).",
        )
    ]


# -- /core/http-methods --------------------------------------------------------------------------


@rule("http-methods")
def http_methods(oas: Oas, _v: str) -> list[Finding]:
    # The official rule only looks at path keys matching "description|summary" and is inert in
    # practice; we test what the rule says: no operations other than GET/PUT/POST/PATCH/DELETE.
    paths = oas.doc.get("paths") if isinstance(oas.doc, dict) else None
    out: list[Finding] = []
    if isinstance(paths, dict):
        for k, item in paths.items():
            if isinstance(item, dict):
                out.extend(
                    Finding(
                        "http-methods",
                        ("paths", k, m),
                        f"Only apply standard HTTP methods; `{m.upper()}` is not one.",
                    )
                    for m in item
                    if m in METHODS and m not in ALLOWED_METHODS
                )
    return out


# -- /core/path-segments-kebab-case, /core/query-keys-camel-case ---------------------------------


@rule("paths-kebab-case")
def paths_kebab_case(oas: Oas, version: str) -> list[Finding]:
    exclude = r"\/openapi\.json" if version != "2.2.0" else r"\/openapi\.(json)|(yaml)"
    return [
        Finding("paths-kebab-case", ("paths", k), f"{k} is not kebab-case.")
        for k in _path_keys(oas)
        if not re.search(exclude, k) and not KEBAB_PATH.search(k)
    ]


@rule("query-keys-camel-case")
def query_keys_camel_case(oas: Oas, _v: str) -> list[Finding]:
    out = []
    paths = oas.doc.get("paths") if isinstance(oas.doc, dict) else None
    if isinstance(paths, dict):
        for pkey, item in paths.items():
            if not isinstance(item, dict):
                continue
            for k in item:
                op = oas.get(item, ("paths", pkey), k)
                if op is None or not isinstance(op[0], dict):
                    continue
                for p, pp in _params(oas, *op):
                    name = p.get("name")
                    if p.get("in") == "query" and isinstance(name, str) and not CAMEL_QUERY_KEY.search(name):
                        out.append(
                            Finding("query-keys-camel-case", (*pp, "name"), f"{name} is not lower camelCase.")
                        )
    schemes = (oas.doc.get("components") or {}).get("securitySchemes") if isinstance(oas.doc, dict) else None
    if isinstance(schemes, dict):
        for sname, s in schemes.items():
            if (
                isinstance(s, dict)
                and s.get("in") == "query"
                and isinstance(s.get("name"), str)
                and not CAMEL_QUERY_KEY.search(s["name"])
            ):
                out.append(
                    Finding(
                        "query-keys-camel-case",
                        ("components", "securitySchemes", sname, "name"),
                        f"{s['name']} is not lower camelCase.",
                    )
                )
    return _dedupe(out)


# -- style warnings ------------------------------------------------------------------------------


@rule("schema-camel-case")
def schema_camel_case(oas: Oas, _v: str) -> list[Finding]:
    schemas = (oas.doc.get("components") or {}).get("schemas") if isinstance(oas.doc, dict) else None
    if not isinstance(schemas, dict):
        return []
    return [
        Finding(
            "schema-camel-case", ("components", "schemas", k), f"Schema name {k} should be UpperCamelCase."
        )
        for k in schemas
        if not _PASCAL.search(str(k))
    ]


@rule("servers-use-https")
def servers_use_https(oas: Oas, version: str) -> list[Finding]:
    out = []
    for server, spath in _servers(oas):
        url = server.get("url")
        if not isinstance(url, str):
            continue
        bad = not url.startswith("https://") if version == "2.1.0" else url.startswith("http://")
        if bad:
            out.append(Finding("servers-use-https", (*spath, "url"), f"Server URL {url} must use https://."))
    return out


# -- /core/semver --------------------------------------------------------------------------------


@rule("semver")
def semver(oas: Oas, _v: str) -> list[Finding]:
    info = oas.doc.get("info") if isinstance(oas.doc, dict) else None
    version = info.get("version") if isinstance(info, dict) else None
    if version is None or (isinstance(version, str) and SEMVER.search(version)):
        return []
    return [Finding("semver", ("info", "version"), f"Version {version} is not in semver format.")]
