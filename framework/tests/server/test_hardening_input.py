"""Valid JSON that Python, a store or a client library cannot take is a 400 naming the field
(issue "Hardening: every 500 a stranger can cause"), never a 500 with a traceback in the log.

Everything goes over real HTTP to the fixture service (``shop_url``, conftest.py).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from macaron import Service
from macaron.testing import Api, assert_problem, capture_logs

JSON = {"Content-Type": "application/json"}


def post(api: Api, path: str, text: str, method: str = "POST"):  # type: ignore[no-untyped-def]
    return api.request(method, path, data=text.encode("utf-8"), headers=JSON)


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ('{"name": "a", "price": ' + "1" * 5000 + "}", "/body/price", "64-bit"),  # past int()'s 4300 digits
        ('{"name": "a", "price": 1, "tags": [], "owner": {"name": "o", "age": -' + "9" * 4400 + "}}",
         "/body/owner/age", "64-bit"),
        ('{"name": "a", "price": 18446744073709551616}', "/body/price", "64-bit"),  # 2**64: no SQLite INTEGER
        ('{"name": "a", "price": 1e999}', "/body/price", "infinity"),
        ('{"name": "a", "price": -1E+400}', "/body/price", "infinity"),
        ('{"name": "a", "price": NaN}', "/body/price", "NaN"),
        ('{"name": "a", "price": Infinity}', "/body/price", "Infinity"),
        ('{"name": "\\ud800", "price": 1}', "/body/name", "surrogate"),
        ('{"name": "ok", "price": 1, "tags": ["x", "a\\uDFFFb"]}', "/body/tags/1", "surrogate"),
        ('{"name": "ok", "price": 1, "owner": {"\\ud800": 1}}', "/body/owner/\ufffd", "surrogate"),
        ('{"name": "ok", "price": 1, "tags": ' + "[" * 80 + "]" * 80 + "}", "/body/tags", "nested"),
    ],
)
def test_json_python_or_a_store_cannot_take_is_a_400_naming_the_field(
    api: Api, shop_service: Service, body: str, path: str, message: str
) -> None:
    with capture_logs(shop_service) as logs:
        answer = post(api, "/items", body)
    problem = assert_problem(answer, 400, "VALIDATION_ERROR", paths=[path])
    assert message.lower() in problem["errors"][0]["message"].lower()
    assert not [r for r in logs.records if r["level"] == "ERROR"], logs.text[:500]


def test_deep_but_not_too_deep_and_paired_surrogates_still_pass(api: Api) -> None:
    tree: dict[str, object] = {"label": "leaf"}
    for _ in range(30):  # 61 levels of objects and arrays
        tree = {"label": "x", "children": [tree]}
    assert post(api, "/trees", json.dumps(tree)).status_code == 200
    emoji = post(api, "/items", '{"name": "\\ud83d\\ude00", "price": 9223372036854775807}')
    assert emoji.status_code == 201 and emoji.json()["name"] == "\U0001f600"
    digits = post(api, "/items", '{"name": "1234567890123456789012345 e999", "price": 0.12345678901234567890123}')
    assert digits.status_code == 201  # what only looks suspect to the quick scan


def test_a_deeply_nested_tree_is_refused_not_a_recursion_error(api: Api, shop_service: Service) -> None:
    tree: dict[str, object] = {"label": "leaf"}
    for _ in range(400):
        tree = {"label": "x", "children": [tree]}
    with capture_logs(shop_service) as logs:
        answer = post(api, "/trees", json.dumps(tree))
    assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/problem+json"
    assert not [r for r in logs.records if r["level"] == "ERROR"], logs.text[:500]


def test_surrogate_bytes_in_path_query_and_form_never_reach_a_handler_as_surrogates(api: Api) -> None:
    """Outside JSON, UTF-8 is decoded with replacement: a would-be surrogate is U+FFFD, not a 500."""
    dog = api.get("/dogs/%ED%A0%80")
    assert dog.status_code == 200 and "\ud800" not in dog.json()["name"]
    assert api.get("/items?tags=%ED%A0%80").status_code == 200
    form = api.post("/forms", data=b"title=%ED%A0%80&count=1",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 200 and "\ud800" not in form.json()["title"]


# --- the class, generated: valid JSON text holding one value Python or a store cannot take ---------

def _digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: "1" + "7" * (n - 1))


UNFIT_NUMBER = st.one_of(
    st.integers(min_value=2**63).map(str),
    st.integers(max_value=-(2**63) - 1).map(str),
    _digits(4301, 6000),  # beyond Python's int-digit limit
    _digits(4301, 6000).map(lambda d: "-" + d),
    st.integers(309, 10**6).map(lambda e: f"1e{e}"),  # overflows to inf
    st.integers(309, 10**6).map(lambda e: f"-9.5E+{e}"),
    st.sampled_from(["NaN", "Infinity", "-Infinity"]),
)
UNFIT_STRING = st.tuples(
    st.text(max_size=5), st.integers(0xD800, 0xDFFF), st.text(max_size=5)
).map(lambda t: json.dumps(t[0] + chr(t[1]) + t[2]))  # json.dumps writes the lone surrogate as \\udXXX
UNFIT_NESTING = st.integers(65, 3000).map(lambda n: "[" * n + "]" * n)
UNFIT = st.one_of(UNFIT_NUMBER, UNFIT_STRING, UNFIT_NESTING)

TEMPLATES = [  # (method, path, body text with one hole), the hole anywhere a value or a key can go
    ("POST", "/items", '{"name": %s, "price": 1}'),
    ("POST", "/items", '{"name": "n", "price": %s}'),
    ("POST", "/items", '{"name": "n", "price": 1, "tags": ["a", %s]}'),
    ("POST", "/items", '{"name": "n", "price": 1, "owner": {"name": "o", "age": %s}}'),
    ("POST", "/items", '{"name": "n", "price": 1, "note": %s}'),
    ("POST", "/items", '{"name": "n", "price": 1, "extra": {"deep": [[%s]]}}'),
    ("PUT", "/items/3", '{"name": "n", "price": %s}'),
    ("POST", "/trees", '{"label": "r", "children": [{"label": %s}]}'),
    ("POST", "/items", "[%s]"),
    ("POST", "/items", "%s"),
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=st.sampled_from(TEMPLATES), hole=UNFIT, as_key=st.booleans())
def test_generated_unfit_json_never_gets_a_5xx(api: Api, template: tuple[str, str, str], hole: str,
                                               as_key: bool) -> None:
    method, path, text = template
    if as_key and hole.startswith('"'):  # a string can be a key too
        text = text.replace("%s", "{" + hole + ": 1}")
    answer = post(api, path, text % hole if "%s" in text else text, method)
    assert answer.status_code < 500, (text[:80], hole[:80], answer.text[:300])
    assert answer.status_code == 400, answer.text[:300]
    assert answer.headers["Content-Type"] == "application/problem+json"
