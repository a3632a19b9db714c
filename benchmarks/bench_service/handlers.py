"""Benchmark handlers: the same logic as the bare Flask and connexion contenders."""

from .data import thing


def getThing(thing_id, detail):
    return thing(thing_id, detail)


def createThing(body):
    return body, 201
