"""The ADR rules on response and field contents: problem details, 400 responses, date/time formats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nds.standards.checks.api.rules.base import (
    _DATE_NAME,
    _STATUS_4XX_5XX,
    Finding,
    _dedupe,
    operations,
    rule,
)
from nds.standards.checks.api.rules.doc import Oas, Path

# -- /core/error-handling/* ----------------------------------------------------------------------


def _error_contents(oas: Oas) -> Iterator[tuple[Any, Path]]:
    for responses, rpath in oas.by_key("responses"):
        if not isinstance(responses, dict):
            continue
        for code, resp, path in oas.children(responses, rpath):
            if _STATUS_4XX_5XX.search(str(code)) and isinstance(resp, dict):
                content = oas.get(resp, path, "content")
                if content is not None:
                    yield content


@rule("use-problem-schema")
def use_problem_schema(oas: Oas, _v: str) -> list[Finding]:
    return _dedupe(
        [
            Finding(
                "use-problem-schema",
                path,
                "Error responses must use application/problem+json or application/problem+xml (RFC 9457).",
            )
            for content, path in _error_contents(oas)
            if isinstance(content, dict)
            and not ({"application/problem+json", "application/problem+xml"} & set(content))
        ]
    )


@rule("problem-schema-members")
def problem_schema_members(oas: Oas, _v: str) -> list[Finding]:
    out = []
    for content, path in _error_contents(oas):
        if not isinstance(content, dict):
            continue
        for mt in ("application/problem+json", "application/problem+xml"):
            media = oas.get(content, path, mt)
            if media is None:
                continue
            for key, schema, spath in oas.walk(*media):
                if key != "schema" or not isinstance(schema, dict):
                    continue
                props = oas.get(schema, spath, "properties")
                if props is None:
                    continue
                if not isinstance(props[0], dict):
                    out.append(Finding("problem-schema-members", props[1], '"properties" must be an object.'))
                    continue
                missing = [f for f in ("status", "title", "detail") if f not in props[0]]
                if missing:
                    out.append(
                        Finding(
                            "problem-schema-members",
                            props[1],
                            f'"properties" must have required properties {", ".join(missing)}; '
                            "status, title and detail are required.",
                        )
                    )
    return _dedupe(out)


@rule("problem-invalid-input")
def problem_invalid_input(oas: Oas, _v: str) -> list[Finding]:
    out = []
    for _p, method, op, opath in operations(oas):
        params = op.get("parameters")
        applies = method in ("put", "post", "patch") or (
            method in ("get", "delete") and isinstance(params, list) and len(params) > 0
        )
        if not applies:
            continue
        responses = op.get("responses")
        if isinstance(responses, dict) and "400" not in responses:
            out.append(
                Finding(
                    "problem-invalid-input",
                    (*opath, "responses"),
                    "GET/DELETE with parameters, and all other operations, must define a 400 response.",
                )
            )
    return out


# -- /core/date-time/* ---------------------------------------------------------------------------


def _property_formats(oas: Oas) -> Iterator[tuple[Any, Path]]:
    """``$..properties[*].format``."""
    for props, ppath in oas.by_key("properties"):
        if not isinstance(props, dict):
            continue
        for _name, prop, path in oas.children(props, ppath):
            got = oas.get(prop, path, "format") if isinstance(prop, dict) else None
            if got is not None:
                yield got


def _date_properties(oas: Oas) -> Iterator[tuple[Any, Path]]:
    """``$..properties[date,datum]`` and ``$..properties[?(@property.match(/.../))]``."""
    for props, ppath in oas.by_key("properties"):
        if not isinstance(props, dict):
            continue
        for name, prop, path in oas.children(props, ppath):
            if name in ("date", "datum") or _DATE_NAME.search(str(name)):
                yield prop, path


@rule("date-time-ensure-timezone")
def date_time_ensure_timezone(oas: Oas, _v: str) -> list[Finding]:
    return _dedupe(
        [
            Finding("date-time-ensure-timezone", p, "Use the date-time format, which includes a timezone.")
            for v, p in _property_formats(oas)
            if v == "date-time-local"
        ]
    )


@rule("time-without-timezone")
def time_without_timezone(oas: Oas, _v: str) -> list[Finding]:
    return _dedupe(
        [
            Finding("time-without-timezone", p, "Use the time-local format (a time without a timezone).")
            for v, p in _property_formats(oas)
            if v == "time"
        ]
    )


@rule("specify-format-for-date-and-time")
def specify_format(oas: Oas, _v: str) -> list[Finding]:
    out = []
    for prop, path in _date_properties(oas):
        if not isinstance(prop, dict) or "format" in prop:
            continue
        all_of = oas.get(prop, path, "allOf")
        if (
            all_of is not None
            and isinstance(all_of[0], list)
            and all(isinstance(item, dict) and "format" in item for _i, item, _pp in oas.children(*all_of))
        ):
            continue
        out.append(
            Finding("specify-format-for-date-and-time", path, "A date field must set 'format' to 'date'.")
        )
    return _dedupe(out)


@rule("use-date-instead-of-datetime")
def use_date_instead_of_datetime(oas: Oas, _v: str) -> list[Finding]:
    out = []
    for prop, path in _date_properties(oas):
        for key, node, npath in oas.walk(prop, path):
            if key == "format" and node == "date-time":
                out.append(
                    Finding(
                        "use-date-instead-of-datetime",
                        npath,
                        "The field represents a date and therefore must set 'format' to 'date'.",
                    )
                )
    return _dedupe(out)
