"""The platform's own APIs pass the project's API Design Rules linter and are valid OpenAPI 3.0."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from nds.api import make_api
from nds.standards.checks.api.lint import lint


class Item(BaseModel):
    name: str | None = None
    kind: str = Field(default="a", examples=["a"])
    count: int = Field(default=0, gt=-1)


def _api():
    api = make_api("Voorbeeld", "1.4.2", "Een voorbeeld-API", base_path="/voorbeeld/v1")

    @api.post("/items")
    async def create(item: Item) -> Item:
        return item

    @api.get("/items/{n}")
    async def get(n: int) -> Item:
        return Item()

    return api


@pytest.mark.parametrize("rules", ["2.0.2", "2.1.0"])
def test_make_api_passes_the_design_rules(rules: str) -> None:
    doc = _api().openapi()
    normative = [f for f in lint(doc, rules) if f.normative]
    assert normative == []


def test_document_is_openapi_30_with_problem_400_and_version_headers() -> None:
    client = TestClient(_api())
    r = client.get("/openapi.json")
    doc = r.json()
    validate(doc)  # raises on an invalid OpenAPI 3.0 document
    assert doc["openapi"] == "3.0.3" and doc["servers"] == [{"url": "/voorbeeld/v1"}]
    post = doc["paths"]["/items"]["post"]["responses"]
    assert "422" not in post and "application/problem+json" in post["400"]["content"]
    assert "API-Version" in post["200"]["headers"]
    name = doc["components"]["schemas"]["Item"]["properties"]["name"]
    assert name.get("nullable") is True and "anyOf" not in name
    # the live header equals info.version
    assert client.post("/items", json={}).headers["api-version"] == doc["info"]["version"]


def test_api_security_headers_on_every_response() -> None:
    client = TestClient(_api())
    for r in (
        client.post("/items", json={}),
        client.post("/items", json={"count": "x"}),
        client.get("/nope"),
    ):
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
