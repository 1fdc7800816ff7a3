from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import BaseModel

from nds.api import Problem, make_api


class Item(BaseModel):
    name: str
    count: int


def _client() -> TestClient:
    api = make_api("Test API", "1.2.3")

    @api.post("/items")
    async def create(item: Item) -> Item:
        return item

    @api.get("/items/{n}")
    async def get(n: int) -> dict[str, int]:
        if n == 0:
            raise Problem(404, "Niet gevonden", "Item 0 bestaat niet.")
        return {"n": n}

    return TestClient(api, raise_server_exceptions=False)


def test_invalid_input_is_400_problem_json_with_all_errors() -> None:
    r = _client().post("/items", json={"name": 5})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 400 and body["title"]
    names = {p["name"] for p in body["invalidParams"]}
    assert {"name", "count"} <= names


def test_api_version_header_and_openapi_published_with_cors() -> None:
    c = _client()
    r = c.get("/items/3")
    assert r.headers["api-version"] == "1.2.3"
    o = c.get("/openapi.json")
    assert o.status_code == 200
    assert o.headers["access-control-allow-origin"] == "*"
    assert o.json()["info"]["version"] == "1.2.3"
    assert o.json()["info"]["contact"]["email"]


def test_problem_and_unknown_route_are_problem_json() -> None:
    c = _client()
    r = c.get("/items/0")
    assert r.status_code == 404 and r.json()["detail"] == "Item 0 bestaat niet."
    r = c.get("/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["api-version"] == "1.2.3"
