"""Outgoing call encoding: models and dates on the wire."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from macaron import Service
from macaron._core.models import to_plain
from macaron.clients._calls import _json_default, _to_wire


def test_models_nested_anywhere_become_json(shop_service: Service) -> None:
    item = shop_service.models.Item(name="a", price=1, owner=shop_service.models.Person(email="o@x.io"))
    assert to_plain({"items": [item], "n": 1}) == {"items": [{"name": "a", "price": 1, "owner": {"email": "o@x.io"}}],
                                                "n": 1}


def test_dates_on_the_wire_are_iso_8601_utc() -> None:
    assert _to_wire(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05+00:00"
    assert _to_wire(dt.date(2026, 1, 2)) == "2026-01-02"
    assert json.dumps({"d": dt.date(2026, 1, 2)}, default=_json_default) == '{"d": "2026-01-02"}'
    with pytest.raises(TypeError, match="set is not JSON serialisable"):
        json.dumps({"s": {1}}, default=_json_default)
