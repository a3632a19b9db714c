"""OpenAPI Overlay 1.0 (OAI Overlay Specification 1.0.x): correct a spec without editing it.

A vendor's file is kept as the vendor wrote it, and what it gets wrong is fixed beside it by an
Overlay document (``overlay: 1.0.0``, ``info``, optional ``extends``, ``actions``). Each action's
``target`` is an RFC 9535 JSONPath query (the ``jsonpath-rfc9535`` package, which implements the
RFC and nothing else, as the spec requires); actions are applied in order, each to the result of
the one before:

- ``update`` on a selected **object** is merged into it: a property only in ``update`` is added;
  objects are merged recursively; an array is concatenated to the array there; any other value
  replaces the primitive there; an object or array over a primitive (or the reverse) is an error
  (the merge rules Overlay 1.1 writes out for 1.0's "recursively merged"). A ``null`` over an
  object or array, or where nothing is, changes nothing: the spec's own Structured Overlay example
  writes ``components:`` and ``tags:`` as such placeholders.
- ``update`` on a selected **array** appends the value as one entry (1.0; 1.1 concatenates).
- ``remove: true`` deletes each selected node from its object or array (``update`` is then ignored).
- A target must select objects or arrays (the spec's MUST): a primitive is an error saying to
  target the containing object. A target selecting **nothing** is valid per the spec, so the action
  changes nothing, but it is reported as an :class:`OverlayWarning` naming the file and action: a
  vendor file that moved on leaves an overlay that silently stopped applying otherwise.
- ``extends``, when a relative reference, must resolve to the file the overlay is applied to.

Every error is an :class:`OverlayError` (a :class:`SpecError`) naming the overlay file and the
action's index (``actions[2]``).

Convention (:func:`overlays_for`): a spec ``X.yaml`` (or ``X.yml``, ``X.json``) has its overlays
beside it, ``X.overlay.yaml`` first, then ``X.overlay.<label>.yaml`` in name order (``.yml`` and
``.json`` too). They are applied as the file is read (:func:`overlaid`, called by
:class:`.refs.RefResolver`), so the resolved document, ``/api.json``, the fakes, clients and stubs
all see the corrected spec, and the overlay files are listed among the spec's files (deploy bundles
carry them).

Rule: pure functions over parsed documents; the input documents are never mutated.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import jsonpath_rfc9535 as jsonpath

from .errors import SpecError
from .refs import read_yaml_document

__all__ = ["OverlayError", "OverlayWarning", "apply_overlay", "overlaid", "overlays_for", "read_overlay"]
_VERSION = re.compile(r"1\.0\.\d+\Z")
_ACTION_FIELDS = {"target", "description", "update", "remove"}
_ROOT_FIELDS = {"overlay", "info", "extends", "actions"}
_SUFFIXES = (".yaml", ".yml", ".json")


class OverlayError(SpecError):
    """An overlay that is not valid Overlay 1.0, or an action that cannot be applied."""


class OverlayWarning(UserWarning):
    """An action whose target selects nothing: valid, but it changed nothing."""


def overlays_for(path: Path) -> list[Path]:
    """The overlay files of the spec at ``path``, in the order they apply (see the module docstring)."""
    path = Path(path)
    if path.suffix not in _SUFFIXES or ".overlay" in path.suffixes:
        return []
    stem, folder = path.name[: -len(path.suffix)], path.parent
    first = [folder / f"{stem}.overlay{s}" for s in _SUFFIXES if (folder / f"{stem}.overlay{s}").is_file()]
    labelled = sorted(p for s in _SUFFIXES for p in folder.glob(f"{glob_escape(stem)}.overlay.*{s}") if p.is_file())
    return [*first, *(p for p in labelled if p not in first)]


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def read_overlay(path: Path) -> dict[str, Any]:
    """Parse the overlay file at ``path`` (YAML or JSON) and check it is an Overlay 1.0 document."""
    document = read_yaml_document(path)
    _check(document, str(path))
    return dict(document)


def overlaid(document: Any, path: Path, read: MutableMapping[Path, Any] | None = None) -> Any:
    """``document`` (read from ``path``) with the overlays of :func:`overlays_for` applied in turn.

    Each overlay file read is recorded in ``read`` (path → its document), so a loader that lists
    the files a spec is made of lists these too."""
    for overlay_path in overlays_for(path):
        overlay = read_overlay(overlay_path)
        if read is not None:
            read[overlay_path.resolve()] = overlay
        document = apply_overlay(document, overlay, source=overlay_path, target=path)
    return document


def _check(overlay: Any, where: str) -> None:
    if not isinstance(overlay, Mapping):
        raise OverlayError(f"{where}: an overlay must be a mapping with 'overlay', 'info' and 'actions'")
    version = overlay.get("overlay")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise OverlayError(f"{where}: 'overlay' must be the Overlay Specification version 1.0.x "
                           f"(e.g. overlay: 1.0.0), got {version!r}")
    info = overlay.get("info")
    if not isinstance(info, Mapping) or not all(isinstance(info.get(k), str) for k in ("title", "version")):
        raise OverlayError(f"{where}: 'info' must have a 'title' and a 'version' (strings)")
    unknown = sorted(str(k) for k in overlay if k not in _ROOT_FIELDS and not str(k).startswith("x-"))
    if unknown:
        raise OverlayError(f"{where}: unknown field(s) {unknown}; an overlay has {sorted(_ROOT_FIELDS)} and x-*")
    if "extends" in overlay and not isinstance(overlay["extends"], str):
        raise OverlayError(f"{where}: 'extends' must be a URI reference (a string)")
    actions = overlay.get("actions")
    if not isinstance(actions, list) or not actions:
        raise OverlayError(f"{where}: 'actions' must be a list of at least one action")
    for index, action in enumerate(actions):
        at = f"{where}: actions[{index}]"
        if not isinstance(action, Mapping):
            raise OverlayError(f"{at}: an action must be a mapping with 'target' and 'update' or 'remove'")
        unknown = sorted(str(k) for k in action if k not in _ACTION_FIELDS and not str(k).startswith("x-"))
        if unknown:
            raise OverlayError(f"{at}: unknown field(s) {unknown}; an action has {sorted(_ACTION_FIELDS)} and x-*")
        if not isinstance(action.get("target"), str) or not action["target"].startswith("$"):
            raise OverlayError(f"{at}: 'target' must be a JSONPath query starting with '$'")
        if not isinstance(action.get("remove", False), bool):
            raise OverlayError(f"{at}: 'remove' must be true or false")
        if not action.get("remove") and "update" not in action:
            raise OverlayError(f"{at}: the action does nothing: give it 'update' or 'remove: true'")


def _check_extends(overlay: Mapping[str, Any], source: Path | None, target: Path | None, where: str) -> None:
    extends = overlay.get("extends")
    if not isinstance(extends, str) or source is None or target is None or re.match(r"[A-Za-z][\w+.-]*:", extends):
        return  # absent, not checkable, or an absolute URI (the vendor's published file, say)
    meant = (Path(source).parent / extends.split("#", 1)[0]).resolve()
    if meant != Path(target).resolve():
        raise OverlayError(f"{where}: 'extends: {extends}' names {meant}, but the overlay is applied to {target}")


def apply_overlay(document: Any, overlay: Mapping[str, Any], *, source: str | Path | None = None,
                  target: Path | None = None) -> Any:
    """A copy of ``document`` with the actions of ``overlay`` applied in order.

    ``source`` names the overlay in errors and warnings (its file); ``target``, the file the
    document was read from, is checked against a relative ``extends``."""
    where = str(source) if source is not None else "overlay"
    _check(overlay, where)
    _check_extends(overlay, Path(source) if source is not None else None, target, where)
    result = copy.deepcopy(document)
    for index, action in enumerate(overlay["actions"]):
        result = _apply_action(result, action, f"{where}: actions[{index}] (target {action['target']})")
    return result


def _apply_action(document: Any, action: Mapping[str, Any], at: str) -> Any:
    try:
        nodes = jsonpath.find(action["target"], document)
    except jsonpath.JSONPathError as exc:
        raise OverlayError(f"{at}: not an RFC 9535 JSONPath query: {exc}") from None
    if not nodes:
        warnings.warn(f"{at}: the target selects nothing, so the action changed nothing", OverlayWarning,
                      stacklevel=4)
        return document
    for node in nodes:
        if not isinstance(node.value, dict | list):
            raise OverlayError(f"{at}: selects {node.path()}, a {_kind(node.value)}; a target must select objects "
                               f"or arrays: select the object that holds it and update that property")
    if action.get("remove"):
        return _remove(document, nodes, at)
    update = action["update"]
    for node in nodes:
        value = node.value
        if isinstance(value, list):
            value.append(copy.deepcopy(update))
        elif isinstance(update, Mapping) and isinstance(value, dict):
            _merge(value, update, f"{at}: at {node.path()}")
        else:
            raise OverlayError(f"{at}: selects the object {node.path()}, so 'update' must be an object of the "
                               f"properties to merge, not a {_kind(update)}")
    return document


def _remove(document: Any, nodes: jsonpath.JSONPathNodeList, at: str) -> Any:
    by_container: dict[int, tuple[Any, list[str | int]]] = {}
    for node in nodes:
        if node.parent is None or not node.location:
            raise OverlayError(f"{at}: cannot remove the document's root")
        container = node.parent.value
        by_container.setdefault(id(container), (container, []))[1].append(node.location[-1])
    for container, keys in by_container.values():
        if isinstance(container, list):  # highest index first, so the others stay where they were
            for index in sorted({k for k in keys if isinstance(k, int)}, reverse=True):
                del container[index]
        else:
            for key in keys:
                container.pop(key, None)
    return document


def _merge(into: dict[str, Any], update: Mapping[str, Any], at: str) -> None:
    for key, value in update.items():
        there = into.get(key)
        if value is None and (key not in into or isinstance(there, dict | list)):
            continue  # a placeholder (see the module docstring)
        if key not in into:
            into[key] = copy.deepcopy(value)
        elif isinstance(there, dict) and isinstance(value, Mapping):
            _merge(there, value, f"{at}.{key}")
        elif isinstance(there, list) and isinstance(value, list):
            there.extend(copy.deepcopy(value))
        elif isinstance(there, dict | list) or isinstance(value, Mapping | list):
            raise OverlayError(f"{at}: {key!r} is a {_kind(there)} in the document and a {_kind(value)} in the "
                               f"update; only like values merge (to replace it, remove it in an action before)")
        else:
            into[key] = value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return "boolean" if isinstance(value, bool) else type(value).__name__.replace("str", "string")
