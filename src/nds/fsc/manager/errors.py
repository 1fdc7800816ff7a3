"""FSC error responses of the Manager API.

- every endpoint except ``/token``: the ``.components.schemas.error`` body (``code``, ``domain``,
  ``message``) with the ``Fsc-Error-Code`` header, status per the fsc-core Codes table;
- ``/token``: RFC 6749 §5.2 (``error``, ``error_description``), never cached.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from nds.fsc.contracts.errors import ERROR_DOMAIN_MANAGER, ErrorCode, FscError

__all__ = [
    "ERROR_DOMAIN_MANAGER",
    "ErrorCode",
    "FscError",
    "OAuthError",
    "fsc_error_response",
    "oauth_response",
]


class OAuthError(Exception):
    """An RFC 6749 §5.2 error of the token endpoint."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def fsc_error_response(err: FscError) -> web.Response:
    return json_response(
        err.to_error_body(), status=err.http_status, headers={"Fsc-Error-Code": err.code.value}
    )


def oauth_response(err: OAuthError) -> web.Response:
    return json_response(
        {"error": err.error, "error_description": err.description},
        status=err.status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
