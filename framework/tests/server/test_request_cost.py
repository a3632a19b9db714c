"""Regression guard for the cost of a request (benchmarks/, docs/benchmarks.md): after warm-up a
request compiles no validator and builds no LogRecord; the shortcuts taken for speed give the
same results as the long way. No timing is asserted here: performance is measured by ``nox -s bench``.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from macaron import Service
from macaron._core.observability import request_id_from, service_logger
from macaron._core.schema import SchemaCompiler
from macaron.testing import Api


@contextmanager
def records_of(logger_name: str) -> Iterator[list[logging.LogRecord]]:
    """Every LogRecord built for ``logger_name`` while the block runs (in any thread)."""
    seen: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        if record.name == logger_name:
            seen.append(record)
        return record

    logging.setLogRecordFactory(counting)
    try:
        yield seen
    finally:
        logging.setLogRecordFactory(factory)


def test_no_compilation_and_no_log_record_per_request(api: Api, shop_service: Service) -> None:
    def traffic() -> None:
        assert api.post("/items", json={"name": "a", "price": 1, "owner": {"email": "x@y.io"}}).status_code == 201
        assert api.get("/items", params={"limit": 3, "tags": "a,b"}).status_code == 200
        assert api.get("/items/abc").status_code == 400  # the error path too, once warm

    traffic()  # warm-up: the error path compiles its per-field validators on first use
    compiled = shop_service.compiler.compilations
    with records_of(shop_service.log.name) as records:
        for _ in range(5):
            traffic()
    assert shop_service.compiler.compilations == compiled
    assert records == []  # request lines go straight to the service's handler


def test_request_lines_go_through_logging_when_others_listen(api: Api, shop_service: Service) -> None:
    """An extra handler (a test's capture, a shipper) gets every request line as a record."""
    extra = logging.NullHandler()
    shop_service.log.addHandler(extra)
    try:
        with records_of(shop_service.log.name) as records:
            assert api.get("/items/3").status_code == 200
    finally:
        shop_service.log.removeHandler(extra)
    assert [r.getMessage() for r in records] == ["GET /items/3 200"]


@pytest.mark.parametrize(
    "fields",
    [
        {"request_id": "r1", "method": "GET", "path": '/a/"q"\n/é/s3cr3t-value', "status": 200, "user": None},
        {"duration_ms": 1.25, "odd": object(), "nested": [1, {"a": None}]},
        {},
        {"message": "overrides the message", "level": "DEBUG"},
    ],
)
def test_request_line_is_the_json_of_a_log_record(fields: dict[str, object]) -> None:
    """The shortcut writes the same JSON, secrets masked, as the ``logging`` path."""
    stream = io.StringIO()
    logger = service_logger('sv"c', ["s3cr3t-value"], stream=stream)
    logger.request_line('GET /a "q" 200', fields)
    logger.addFilter(lambda record: True)  # a filter sends the line through logging's own path
    logger.request_line('GET /a "q" 200', fields)
    fast, slow = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(fast) == list(slow)
    assert {k: v for k, v in fast.items() if k != "time"} == {k: v for k, v in slow.items() if k != "time"}
    assert "s3cr3t-value" not in stream.getvalue()


def test_lean_validators_decide_like_fastjsonschema() -> None:
    """Lean validators (no field names on the valid path) accept and reject what the stock ones do."""
    compiler = SchemaCompiler(
        {
            "Part": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string", "pattern": "^A"}}},
            "Tree": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/definitions/Tree"}}},
            },
        }
    )
    schema = {
        "type": "object",
        "required": ["parts"],
        "properties": {
            "parts": {"type": "array", "items": {"$ref": "#/definitions/Part"}},
            "tree": {"$ref": "#/definitions/Tree"},
            'odd "name"': {"$ref": "#/definitions/Part"},
        },
        "additionalProperties": {"$ref": "#/definitions/Part"},
    }
    lean, stock = compiler.compile(schema, lean=True), compiler.compile(schema)
    documents = [
        {"parts": [{"sku": "A1"}, {"sku": "A2"}]},
        {"parts": [{"sku": "A1"}, {"sku": "B2"}]},
        {"parts": [{"sku": "A1"}, {}]},
        {"parts": [], "tree": {"kids": [{"kids": []}, {"kids": [{"kids": "no"}]}]}},
        {"parts": [], "tree": {"kids": [{"kids": []}]}, 'odd "name"': {"sku": "A"}, "extra": {"sku": "A"}},
        {"parts": [], "extra": {"sku": "B"}},
        {"parts": "no"},
        [],
    ]
    for document in documents:
        assert _accepts(lean, document) == _accepts(stock, document), document
    assert _accepts(lean, documents[0]) and not _accepts(lean, documents[1])


def test_lean_code_skips_the_valid_path_work() -> None:
    import fastjsonschema
    from macaron._core.schema import lean_code

    definitions = {"Part": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}}
    schema = {"type": "array", "items": {"$ref": "#/definitions/Part"}, "definitions": definitions}
    code = lean_code(fastjsonschema.compile_to_code(schema))
    assert "custom_formats, name_prefix)" in code and "custom_formats, (name_prefix" not in code
    assert "_keys = set(" not in code and " = set([" not in code and "_REQUIRED_0 - data.keys()" in code


ROOT = Path(__file__).resolve().parents[3]
SPECS = sorted(
    [
        *ROOT.glob("services/*/api.yaml"),
        *ROOT.glob("shared_apis/*.yaml"),
        *ROOT.glob("framework/tests/fixtures/*/api.yaml"),
    ]
)


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_lean_validators_decide_like_fastjsonschema_on_every_definition(spec_path: Path) -> None:
    """Every definition of every spec here: a sample document and its mutations (a property
    dropped, mistyped, an unknown one added) get the same verdict from lean and stock code."""
    from macaron._core.spec import load_spec
    from macaron._local.fakedata import sample

    definitions = load_spec(spec_path).document.get("definitions") or {}
    compiler = SchemaCompiler(definitions)
    checked = 0
    for name in definitions:
        schema = {"$ref": f"#/definitions/{name}"}
        lean, stock = compiler.compile(schema, lean=True), compiler.compile(schema)
        for document in _variants(sample(definitions[name], definitions)):
            assert _accepts(lean, document) == _accepts(stock, document), (name, document)
            checked += 1
    assert checked >= len(definitions)


def _variants(document: object) -> Iterator[object]:
    yield document
    for wrong in (None, 1, 1.5, "x", True, [], {}):
        yield wrong
    if isinstance(document, dict):
        yield {**document, "undeclared_field": 1}
        for key in document:
            yield {k: v for k, v in document.items() if k != key}
            for wrong in (None, -1, "x", [], {}, [{}]):
                yield {**document, key: wrong}


def _accepts(fn: object, document: object) -> bool:
    import fastjsonschema

    try:
        fn(document)  # type: ignore[operator]
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def test_generated_request_ids_differ_across_forked_workers() -> None:
    """Generated ids come from ``random``, which reseeds in a forked child (gunicorn forks workers)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send one id and leave at once
        os.write(write, request_id_from(None).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    mine = request_id_from(None)
    assert len(mine) == len(child) == 32 and int(mine, 16) >= 0 and int(child, 16) >= 0
    assert mine != child
