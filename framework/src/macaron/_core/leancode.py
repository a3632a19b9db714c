"""Leaner validator code: fastjsonschema's generated Python minus work a valid document never
needs. The validators accept and reject exactly the same documents; only the exceptions of the
lean ones do not name the bad field (:class:`.schema.Validator` finds the fields itself).

Rule: imports only fastjsonschema and the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import fastjsonschema

# fastjsonschema names every nested value for its error messages even when the document is
# valid: each $ref call builds ``(name_prefix or "data") + ".parts[{i}]".format(**locals())``,
# about 1 µs per array item. Validators that only answer valid/invalid pass the prefix through.
_REF_CALL_NAME = re.compile(
    r', custom_formats, \(name_prefix or "data"\) \+ "(?:[^"\\]|\\.)*"(?:\.format\(\*\*locals\(\)\))?\)$', re.M
)
_ROOT_FUNCTION = re.compile(r"^def (\w+)\(data, custom_formats=", re.M)
# Per object it also copies the keys into a set, to strike off each declared property; only
# additionalProperties reads that set afterwards. Where nothing does, membership is asked of
# the dict itself. And each required list becomes a set per call: hoisted into a constant.
_KEY_SET = re.compile(r"^[ ]*(\w+)_keys = set\(\1\.keys\(\)\)\n", re.M)
_REQUIRED = re.compile(r"""set\((\[(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|, )*\])\) - (\w+)\.keys\(\)""")


def compile_lean(document: dict[str, Any], fill_defaults: bool) -> Callable[[Any], Any]:
    """fastjsonschema's code for ``document``, rewritten by :func:`lean_code`."""
    code = fastjsonschema.compile_to_code(document, use_default=fill_defaults, use_formats=True)
    root = _ROOT_FUNCTION.search(code)
    if root is None:  # an unexpected layout: the stock validator is as correct, only slower
        return fastjsonschema.compile(document, use_default=fill_defaults, use_formats=True)  # type: ignore[no-any-return]
    try:
        program = compile(lean_code(code), "<macaron validator>", "exec")
    except SyntaxError:  # a generator that writes other code than the rewrites expect
        return fastjsonschema.compile(document, use_default=fill_defaults, use_formats=True)  # type: ignore[no-any-return]
    namespace: dict[str, Any] = {}
    exec(program, namespace)
    return namespace[root.group(1)]  # type: ignore[no-any-return]


def lean_code(code: str) -> str:
    """fastjsonschema's generated ``code`` minus the work a valid document does not need.

    Each rewrite matches the exact lines the generator emits and leaves anything else alone:
    $ref calls pass the name prefix through; key sets that only strike off declared
    properties become ``pass`` (membership is asked of the dict); required lists are constants.
    """
    code = _REF_CALL_NAME.sub(", custom_formats, name_prefix)", code)
    for name in {match.group(1) for match in _KEY_SET.finditer(code)}:
        uses = len(re.findall(rf"\b{name}_keys\b", code))
        assignments = len(re.findall(rf"^[ ]*{name}_keys = set\({name}\.keys\(\)\)$", code, re.M))
        tests = len(re.findall(rf'^[ ]*if "(?:[^"\\]|\\.)*" in {name}_keys:$', code, re.M))
        removes = len(re.findall(rf'^[ ]*{name}_keys\.remove\("(?:[^"\\]|\\.)*"\)$', code, re.M))
        if uses == assignments + tests + removes:  # nothing else reads the set: drop it
            code = re.sub(rf"^([ ]*){name}_keys = set\({name}\.keys\(\)\)$", r"\1pass", code, flags=re.M)
            code = re.sub(rf'^([ ]*){name}_keys\.remove\("(?:[^"\\]|\\.)*"\)$', r"\1pass", code, flags=re.M)
            code = re.sub(rf'^([ ]*if "(?:[^"\\]|\\.)*" in {name})_keys:$', r"\1:", code, flags=re.M)
    constants: list[str] = []

    def hoist(match: re.Match[str]) -> str:
        constants.append(f"_REQUIRED_{len(constants)} = frozenset({match.group(1)})")
        return f"_REQUIRED_{len(constants) - 1} - {match.group(2)}.keys()"

    code = _REQUIRED.sub(hoist, code)
    if constants:
        first = code.index("\ndef ")
        code = code[:first] + "\n" + "\n".join(constants) + "\n" + code[first:]
    return code
