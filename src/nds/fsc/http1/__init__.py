"""A lean HTTP/1.1 layer for the FSC data-plane proxies (Inway, Outway), on asyncio Protocols.

Requests and responses are parsed by httptools (llhttp); the server (:mod:`.server`, :mod:`.request`)
hands each request to an async handler, the client (:mod:`.client`) keeps a pool of persistent
upstream connections, :mod:`.proxy` builds the upstream request and relays the response, and
:mod:`.body` streams large bodies with backpressure. Rules cite RFC 9112 / RFC 9110 where they apply.
"""

from nds.fsc.http1.body import SMALL_BODY, BodyError, BodyStream
from nds.fsc.http1.client import UpstreamError, UpstreamPool, UpstreamResponse
from nds.fsc.http1.listener import Http1Server
from nds.fsc.http1.proxy import Upstream, relay_response, upstream_head
from nds.fsc.http1.request import Request

__all__ = [
    "SMALL_BODY",
    "BodyError",
    "BodyStream",
    "Http1Server",
    "Request",
    "Upstream",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamResponse",
    "relay_response",
    "upstream_head",
]
