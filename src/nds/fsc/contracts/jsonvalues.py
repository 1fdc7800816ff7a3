"""Immutable JSON values (for grant ``properties``) and strict JSON text loading.

FSC draft hashes are computed over RFC 8785 (JCS) output, and JCS is only defined for I-JSON
(RFC 7493): no duplicate member names, no NaN/Infinity, numbers that fit an IEEE 754 double exactly.
``load_json`` enforces those rules on raw request bodies, ``freeze_json`` on already-decoded values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import rfc8785

from nds.fsc.contracts.errors import CONTENT_INVALID, ContractFormatError, brief

# The largest integer an IEEE 754 double represents exactly (RFC 7493 §2.2, RFC 8785 §3.2.2.3).
MAX_SAFE_INTEGER = 2**53 - 1


class JsonObject(Mapping[str, Any]):
    """A read-only, hashable JSON object that keeps member order (for exact round trips)."""

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items: dict[str, Any] = dict(items or {})
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def canonical(self) -> bytes:
        """RFC 8785 form; equality and hashing use it, so ``true`` never equals ``1`` (Python's ``==``
        would say it does) while member order and ``1`` vs ``1.0`` do not matter, as for the hashes."""
        return rfc8785.dumps(thaw_json(self))

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.canonical())
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonObject):
            return self.canonical() == other.canonical()
        if isinstance(other, Mapping):
            try:
                return self.canonical() == rfc8785.dumps(dict(other))
            except (rfc8785.CanonicalizationError, TypeError, ValueError):
                return False
        return NotImplemented

    def __repr__(self) -> str:
        return f"JsonObject({self._items!r})"


def freeze_json(value: Any, path: str, max_depth: int, depth: int = 1) -> Any:
    """Validate an I-JSON value and return it with objects as JsonObject and arrays as tuples."""
    if depth > max_depth:
        raise ContractFormatError(CONTENT_INVALID, f"{path}: JSON nested deeper than {max_depth} levels")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        check_unicode(value, path)
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ContractFormatError(
                CONTENT_INVALID, f"{path}: integer {value} is outside the I-JSON range ±(2^53-1)"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ContractFormatError(CONTENT_INVALID, f"{path}: NaN and Infinity are not JSON numbers")
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ContractFormatError(CONTENT_INVALID, f"{path}: object keys must be strings")
            check_unicode(key, path)
            out[key] = freeze_json(item, f"{path}.{key}", max_depth, depth + 1)
        return JsonObject(out)
    if isinstance(value, list | tuple):
        return tuple(freeze_json(item, f"{path}[{i}]", max_depth, depth + 1) for i, item in enumerate(value))
    raise ContractFormatError(CONTENT_INVALID, f"{path}: {type(value).__name__} is not a JSON value")


def check_unicode(text: str, path: str) -> None:
    """Reject strings with lone surrogates: they have no UTF-8 form, so JCS cannot hash them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ContractFormatError(CONTENT_INVALID, f"{path}: string contains a lone surrogate") from None


def thaw_json(value: Any) -> Any:
    """The plain ``dict``/``list`` form of a frozen JSON value."""
    if isinstance(value, JsonObject):
        return {key: thaw_json(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw_json(item) for item in value]
    return value


def _reject_constant(name: str) -> Any:
    raise ContractFormatError(CONTENT_INVALID, f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ContractFormatError(CONTENT_INVALID, f"duplicate member name {brief(key)} in a JSON object")
        out[key] = value
    return out


def json_depth(value: Any) -> int:
    """Nesting depth of decoded JSON (a scalar is 0, ``{}`` and ``[]`` are 1); iterative."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            depth += 1
            stack.extend((child, depth) for child in item.values())
        elif isinstance(item, list | tuple):
            depth += 1
            stack.extend((child, depth) for child in item)
        deepest = max(deepest, depth)
    return deepest


def load_json(raw: bytes | str, *, max_bytes: int, max_depth: int) -> Any:
    """Decode a JSON text strictly (UTF-8, I-JSON rules, size and depth limits).

    Raises ContractFormatError with a message fit for an API client; never another exception type.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogatepass")
    if len(raw) > max_bytes:
        raise ContractFormatError(CONTENT_INVALID, f"JSON body is larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractFormatError(
            CONTENT_INVALID, f"JSON body is not valid UTF-8 (byte {exc.start})"
        ) from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except ContractFormatError:
        raise
    except RecursionError:
        raise ContractFormatError(CONTENT_INVALID, f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise ContractFormatError(CONTENT_INVALID, f"malformed JSON: {exc}") from None
    if json_depth(value) > max_depth:
        raise ContractFormatError(CONTENT_INVALID, f"JSON nested deeper than {max_depth} levels")
    return value
