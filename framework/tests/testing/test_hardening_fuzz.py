"""The fuzz suite's hostile-JSON pass (``_fuzz.hostile_cases``): valid JSON that Python, a store or a
client cannot take, sent to every JSON body of the served spec; each must be a 4xx problem+json."""

from __future__ import annotations

import requests
from macaron import Service
from macaron._server.builtins import served_spec
from macaron.testing._fuzz import HOSTILE_JSON, FuzzReport, _hostile_pass, hostile_cases


def test_every_json_body_of_the_spec_gets_every_hostile_value(shop_service: Service) -> None:
    cases = list(hostile_cases(served_spec(shop_service)))
    operations = {(op, method, path) for op, method, path, _ in cases}
    assert {("createItem", "POST", "/items"), ("replaceItem", "PUT", "/items/1"), ("echoTree", "POST", "/trees")} \
        <= operations
    bodies = {body for op, _, _, body in cases if op == "createItem"}
    assert len(bodies) == len(HOSTILE_JSON) * 6  # Item's six properties, each with each value
    assert b'{"price": ' + b"1" * 5000 + b"}" in bodies


def test_the_served_fixture_answers_every_hostile_body_with_a_4xx_problem(shop_service: Service,
                                                                          shop_url: str) -> None:
    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        answer = requests.request(method, shop_url + path, data=body, headers=headers, timeout=30)
        return answer.status_code, answer.headers.get("Content-Type", "")

    report = _hostile_pass(served_spec(shop_service), None, send, FuzzReport("shop", shop_url))
    assert report.ok and report.cases > 50, report.summary()
    assert set(report.statuses) == {400}


def test_a_5xx_or_a_non_problem_answer_is_reported_once_per_operation(shop_service: Service) -> None:
    answers = iter([(500, "application/problem+json"), (201, "application/json")] * 10_000)
    report = _hostile_pass(served_spec(shop_service), None, lambda *a: next(answers), FuzzReport("shop", "x"))
    assert not report.ok
    assert {f.check for f in report.failures} == {"hostile_json"}
    assert len(report.failures) == len({f.operation for f in report.failures})
