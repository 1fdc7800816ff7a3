"""Reading request bodies safely and checking Manager addresses.

Limits (body size, JSON nesting depth, duplicate keys, non-finite numbers) are enforced before any
content reaches contract parsing, so hostile input ends in an FSC error body, never a traceback.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from cryptography import x509

from nds.fsc.contracts.errors import ErrorCode, FscError

# FSC has no code for "malformed request body"; nds answers it like malformed contract content
# (see nds.fsc.contracts.errors.CONTENT_INVALID) but with HTTP 400, because the request itself is broken.
BODY_CODE = ErrorCode.SIGNATURE_VERIFICATION_FAILED
FSC_PORTS = (443, 8443)


class RequestError(FscError):
    """An FscError with an explicit HTTP status (400 malformed request, 413 too large)."""

    def __init__(self, code: ErrorCode, message: str, status: int) -> None:
        super().__init__(code, message)
        self._status = status

    @property
    def http_status(self) -> int:
        return self._status


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k[:50]!r}")
        out[k] = v
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_depth_exceeds(data: bytes, limit: int) -> bool:
    """True if arrays/objects nest deeper than ``limit`` (strings are skipped correctly)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    in_str = esc = False
    for b in data:
        if in_str:
            if esc:
                esc = False
            elif b == 0x5C:
                esc = True
            elif b == 0x22:
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif b in (0x5D, 0x7D):
            depth -= 1
    return False


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    if request.content_length is not None and request.content_length > max_bytes:
        raise RequestError(BODY_CODE, f"request body larger than {max_bytes} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > max_bytes:
            raise RequestError(BODY_CODE, f"request body larger than {max_bytes} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(data: bytes, max_depth: int) -> Any:
    if json_depth_exceeds(data, max_depth):
        raise RequestError(BODY_CODE, f"JSON nested deeper than {max_depth} levels", 400)
    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        msg = str(exc).splitlines()[0][:200] if str(exc) else "invalid JSON"
        raise RequestError(BODY_CODE, f"request body is not valid JSON: {msg}", 400) from None


async def read_json_object(request: web.Request, max_bytes: int, max_depth: int) -> dict[str, Any]:
    ctype = request.content_type
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise RequestError(BODY_CODE, f"content type {ctype[:80]!r} is not application/json", 415)
    body = parse_json(await read_body(request, max_bytes), max_depth)
    if not isinstance(body, dict):
        raise RequestError(BODY_CODE, "request body must be a JSON object", 400)
    return body


def _cert_names(
    cert: x509.Certificate,
) -> tuple[set[str], set[Any]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    dns = {n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)}
    ips = set(san.get_values_for_type(x509.IPAddress))
    return dns, ips


def host_in_certificate(host: str, cert: x509.Certificate) -> bool:
    """RFC 6125-style match of ``host`` against the certificate's SANs (one left-most wildcard label)."""
    dns, ips = _cert_names(cert)
    try:
        return ipaddress.ip_address(host) in ips
    except ValueError:
        pass
    host = host.lower().rstrip(".")
    if host in dns:
        return True
    _first, _, rest = host.partition(".")
    return bool(rest) and f"*.{rest}" in dns


def normalize_manager_address(value: str | None) -> tuple[str, str, int]:
    """Check a Manager address (https, explicit FSC port, no path/query); return (address, host, port).

    Raises ValueError with a reason.
    """
    if not value:
        raise ValueError("the Fsc-Manager-Address header is required")
    if len(value) > 255:
        raise ValueError("the Fsc-Manager-Address is longer than 255 characters")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise ValueError("the Fsc-Manager-Address is not a valid URL") from None
    if parts.scheme != "https":
        raise ValueError("the Fsc-Manager-Address must use https")
    if not parts.hostname:
        raise ValueError("the Fsc-Manager-Address has no host")
    if port is None:
        raise ValueError("the Fsc-Manager-Address must contain the port")
    if port not in FSC_PORTS:
        raise ValueError("the Fsc-Manager-Address port must be 443 or 8443")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("the Fsc-Manager-Address must be scheme, host and port only")
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}:{port}", host, port
