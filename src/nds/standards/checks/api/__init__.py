"""API checks: lint an OpenAPI document against the NL API Design Rules (ADR) and check the live API.

- ``retrieve``: network retrieval of ``openapi.json`` (unauthenticated, size-capped, no remote ``$ref``).
- ``rules``: the ADR linter rules as pure functions over the document, Spectral rule names per version.
- ``lint``: pinning a rules version, grouping findings into one verdict per ADR rule id.
- ``runtime``: pure evaluation of what the live API returned (API-Version, security headers, CORS, TLS).
- ``run``: ``check_api(url, net, rules_version)`` gluing the above; ``cli``: ``nds check api URL``.
"""
