"""The validation figure (``validation_vs_json_loads``: parse + validate + build the model of a body
÷ ``json.loads`` of the same bytes, goal ≤ 10) for the bench service's spec in each version —
``bench_service/api.yaml`` (Swagger 2.0), ``api30.yaml`` (OpenAPI 3.0), ``api31.yaml`` (3.1) — and
the two validators side by side on the same body: fastjsonschema (what 2.0 and 3.0 compile with)
and jsonschema-rs (what 3.1 compiles with, JSON Schema 2020-12).

``python benchmarks/oas_validation.py [--quick]`` prints the table; ``run.py`` adds the two version
figures to ``results.json`` as ``validation_vs_json_loads_30`` and ``_31``.
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from pathlib import Path
from statistics import median
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SPECS = {"2.0": "api.yaml", "3.0": "api30.yaml", "3.1": "api31.yaml"}


def _service(version: str) -> Any:
    from macaron import Service, load_config, load_spec

    directory = HERE / "bench_service"
    return Service(load_config(directory, {}), load_spec(directory / SPECS[version]))


def _time(fn: Any, raw: bytes, rounds: int, number: int) -> float:
    return median(timeit.timeit(lambda: fn(raw), number=number) / number for _ in range(rounds))


def by_version(rounds: int, number: int) -> dict[str, Any]:
    """The figure (small and large body, models touched) for each spec version."""
    from inprocess import _bodies
    from macaron import Model
    from macaron.testing import body_parser

    def touch(thing: Model) -> None:
        for prop, (kind, _) in type(thing).__nested__.items():
            value = getattr(thing, prop)
            if kind == "one" and value is not None:
                touch(value)
            elif kind == "list" and value:
                for item in value:
                    touch(item)

    out: dict[str, Any] = {}
    for version in SPECS:
        lazy = body_parser(_service(version), "createThing")

        def built(raw: bytes, lazy: Any = lazy) -> object:
            thing = lazy(raw)
            touch(thing)
            return thing

        figures: dict[str, Any] = {}
        for name, raw in _bodies().items():
            ours, base = _time(built, raw, rounds, number), _time(json.loads, raw, rounds, number)
            figures[name] = {"ratio": ours / base, "macaron_us": ours * 1e6, "json_loads_us": base * 1e6}
        figures["value"] = figures["small"]["ratio"]
        out[version] = figures
    return out


def validators(rounds: int, number: int) -> dict[str, Any]:
    """fastjsonschema vs jsonschema-rs on the same converted schema and parsed body (validation only)."""
    import fastjsonschema
    import jsonschema_rs
    from inprocess import _bodies

    compiler = _service("3.0").compiler
    document = {"$ref": "#/definitions/Thing", "definitions": compiler.request_definitions}
    fast = fastjsonschema.compile(document, use_formats=True)
    rs_draft = jsonschema_rs.Draft7Validator(document, validate_formats=True)
    rs_2020 = jsonschema_rs.Draft202012Validator(document, validate_formats=True)
    out: dict[str, Any] = {}
    for name, raw in _bodies().items():
        value = json.loads(raw)
        row = {
            "fastjsonschema_us": _time(lambda _r, v=value: fast(v), raw, rounds, number) * 1e6,
            "jsonschema_rs_draft7_us": _time(lambda _r, v=value: rs_draft.is_valid(v), raw, rounds, number) * 1e6,
            "jsonschema_rs_2020_us": _time(lambda _r, v=value: rs_2020.is_valid(v), raw, rounds, number) * 1e6,
            "json_loads_us": _time(json.loads, raw, rounds, number) * 1e6,
        }
        out[name] = row
    return out


def table(results: dict[str, Any]) -> str:
    lines = ["validate + build a model ÷ json.loads (goal ≤ 10), by spec version:",
             f"  {'version':8} {'small':>8} {'large':>8}   {'small µs':>9} {'large µs':>9}"]
    for version, figures in results["by_version"].items():
        lines.append(f"  {version:8} {figures['small']['ratio']:8.2f} {figures['large']['ratio']:8.2f}   "
                     f"{figures['small']['macaron_us']:9.1f} {figures['large']['macaron_us']:9.1f}")
    lines.append("validation alone, same schema and body (µs):")
    lines.append(f"  {'body':6} {'fastjsonschema':>15} {'rs draft7':>10} {'rs 2020-12':>11} {'json.loads':>11}")
    for name, row in results["validators"].items():
        lines.append(f"  {name:6} {row['fastjsonschema_us']:15.1f} {row['jsonschema_rs_draft7_us']:10.1f} "
                     f"{row['jsonschema_rs_2020_us']:11.1f} {row['json_loads_us']:11.1f}")
    return "\n".join(lines)


def measure(quick: bool = False) -> dict[str, Any]:
    rounds, number = (5, 300) if quick else (9, 2000)
    return {"by_version": by_version(rounds, number), "validators": validators(rounds, number)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = measure(args.quick)
    print(table(results))


if __name__ == "__main__":
    main()
