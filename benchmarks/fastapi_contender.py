"""The FastAPI contender (``contenders.build('fastapi')``): the bench spec's two endpoints with
``async def`` handlers and pydantic models equal to ``bench_service/api.yaml``'s definitions (the
``sku`` pattern, the bounds, the required fields, an email-checked owner), request and response
validation on (``response_model``). Served by uvicorn with uvloop and httptools, one worker.

No ``from __future__ import annotations`` here: FastAPI reads the annotations at run time.
"""

import sys
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI
from fastapi import Path as PathParam
from pydantic import BaseModel, EmailStr, Field

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench_service"))

from data import thing


class Owner(BaseModel):
    email: EmailStr
    name: str | None = None


class Part(BaseModel):
    sku: Annotated[str, Field(pattern=r"^[A-Z]{3}-[0-9]{3}$")]
    qty: Annotated[int, Field(ge=0)]
    price: float | None = None


class Thing(BaseModel):
    id: int
    name: Annotated[str, Field(min_length=1, max_length=80)]
    detail: str | None = None
    owner: Owner
    parts: list[Part]


def build() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/things/{thing_id}", response_model=Thing, response_model_exclude_unset=True)
    async def get_thing(thing_id: Annotated[int, PathParam(ge=1)], detail: Literal["short", "full"] = "short") -> dict:
        return thing(thing_id, detail)

    @app.post("/things", response_model=Thing, response_model_exclude_unset=True, status_code=201)
    async def create_thing(body: Thing) -> Thing:
        return body

    return app
