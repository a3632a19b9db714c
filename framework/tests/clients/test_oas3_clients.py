"""Clients of OpenAPI 3.0 and 3.1 callees (the shop fixture in each version, served as a service):
requests built from the normalised model — cookies, label paths, deepObject and exploded object
queries, JSON-typed parameters, form bodies — and answers validated and built into models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service, create_app
from macaron.clients import UpstreamError, client
from macaron.testing import serve_app

from ..conftest import FIXTURES, SHOP_ENV


@pytest.fixture(scope="module", params=["shop30", "shop31"])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    callee = Service.load(FIXTURES / request.param, environ=SHOP_ENV)
    caller = tmp_path_factory.mktemp("caller")
    (caller / "handlers.py").write_text("")
    (caller / "api.yaml").write_text('swagger: "2.0"\ninfo: {title: caller, version: "1"}\npaths: {}\n')
    with serve_app(create_app(callee)) as url:
        spec = Path(FIXTURES / request.param / "api.yaml")
        (caller / "service.yaml").write_text(
            f'port: 9999\nclients:\n  shop: {{spec: "{spec}", kind: external, url: "{url}"}}\n')
        yield client("shop", service=Service.load(caller, environ={}))


def test_parameters_are_written_as_their_style_says(shop: object) -> None:
    seen = shop.getSession(sid="abcd", theme="dark", x_flags=[1, 2], filter={"min": 1, "max": 3},  # type: ignore[attr-defined]
                           point={"x": 1.5, "y": 2}, where={"city": "Oslo"})
    assert seen == {"sid": "abcd", "theme": "dark", "flags": [1, 2], "filter": {"min": 1, "max": 3},
                    "point": {"x": 1.5, "y": 2}, "where": {"city": "Oslo"}}
    listed = shop.listItems(limit=5, tags=["a", "b"], ids=[1, 2])  # type: ignore[attr-defined]
    assert listed.limit == 5 and listed.query == {"tags": ["a", "b"], "ids": [1, 2]}
    shapes = shop.getShapes(ids=[1, 2], colour=["red", "blue"])  # type: ignore[attr-defined]
    assert [type(s).__name__ for s in shapes] == ["Circle", "Square"]  # the union's members, by their tag


def test_bodies_json_and_form_and_models_back(shop: object) -> None:
    item = shop.createItem(body={"name": "lamp", "price": 3})  # type: ignore[attr-defined]
    assert type(item).__name__ == "Item" and item.id == 7
    assert shop.submitForm(body={"title": "t", "count": 2}) == {"title": "t", "count": 2}  # type: ignore[attr-defined]
    with pytest.raises(UpstreamError) as refused:
        shop.getItem(item_id=404)  # type: ignore[attr-defined]
    assert refused.value.upstream_status == 404
