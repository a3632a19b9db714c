"""WSGI/ASGI apps of the server contenders, importable by gunicorn.

- ``build('macaron')``   — macaron, request and response validation on (the Swagger 2.0 spec);
  ``build('macaron30')``, ``build('macaron31')``: the same from the OpenAPI 3.0 and 3.1 specs
- ``build('flask')``     — the same endpoints in bare Flask, no validation
- ``build('connexion')`` — connexion 3 (FlaskApp), request + response validation on
- ``build('fastapi')``   — FastAPI, ``async def`` handlers, pydantic models equal to the spec's
  definitions, request and response validation on (``fastapi_contender.py``)

``macaron_app``, ``flask_app`` and ``fastapi_app`` are the same as factories without arguments
(granian's and uvicorn's ``--factory``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "bench_service"))

from data import thing  # noqa: E402


def _macaron():  # type: ignore[no-untyped-def]
    from macaron import Service, create_app

    return create_app(Service.load(HERE / "bench_service"))


def _macaron_in(spec: str):  # type: ignore[no-untyped-def]
    """macaron serving the same two endpoints and handlers from ``spec`` (api30.yaml, api31.yaml)."""
    from macaron import Service, create_app

    return create_app(Service.load(HERE / "bench_service", environ={"MACARON_SPEC": spec}))


def _flask():  # type: ignore[no-untyped-def]
    from flask import Flask, jsonify, request

    app = Flask("bare")

    @app.get("/things/<int:thing_id>")
    def get_thing(thing_id: int):  # type: ignore[no-untyped-def]
        return jsonify(thing(thing_id, request.args.get("detail", "short")))

    @app.post("/things")
    def create_thing():  # type: ignore[no-untyped-def]
        return jsonify(request.get_json()), 201

    return app


def _connexion():  # type: ignore[no-untyped-def]
    import connexion

    app = connexion.FlaskApp(__name__, specification_dir=str(HERE / "bench_service"))
    app.add_api(
        "api.yaml",
        validate_responses=True,
        strict_validation=True,
        resolver=connexion.resolver.Resolver(lambda op_id: {"getThing": _cx_get, "createThing": _cx_create}[op_id]),
    )
    return app


def _cx_get(thing_id: int, detail: str = "short"):  # type: ignore[no-untyped-def]
    return thing(thing_id, detail)


def _cx_create(body: dict):  # type: ignore[no-untyped-def]
    return body, 201


def _fastapi():  # type: ignore[no-untyped-def]
    import fastapi_contender  # its own module: FastAPI reads annotations at run time

    return fastapi_contender.build()


BUILDERS = {"macaron": _macaron, "macaron30": lambda: _macaron_in("api30.yaml"),
            "macaron31": lambda: _macaron_in("api31.yaml"), "flask": _flask, "connexion": _connexion,
            "fastapi": _fastapi}


def build(name: str):  # type: ignore[no-untyped-def]
    """gunicorn app factory: ``gunicorn "contenders:build('macaron')"``."""
    return BUILDERS[name]()


def macaron_app():  # type: ignore[no-untyped-def]
    return _macaron()


def flask_app():  # type: ignore[no-untyped-def]
    return _flask()


def fastapi_app():  # type: ignore[no-untyped-def]
    return _fastapi()
