"""Models: one Python class per object definition of a spec.

A model wraps a plain dict (its JSON form) and gives attribute access to the declared
properties. Nested ``$ref`` properties and arrays of them become nested models, built on
first use: a model made from JSON (a request body, a client's answer, a stored item) keeps
that JSON as it came until it is touched, so echoing it back costs no walk either way;
``allOf: [{$ref: Base}, ...]`` becomes a subclass of ``Base``, and JSON whose discriminator
names a subtype (``{"petType": "Cat"}`` read as a ``Pet``) is built as that subtype. Classes
are built at start-up with ``type()`` (no generated source), registered per service, and
validated through the same compiled validators as requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from . import plugins
from .errors import ValidationFailed
from .schema import SchemaCompiler, Validator


class Model:
    """Base class of every spec model."""

    __model_name__: ClassVar[str] = "Model"
    __discriminator__: ClassVar[str | None] = None  # the property naming the subtype (inherited)
    __mapping__: ClassVar[dict[str, str]] = {}  # 3.x: discriminator value → definition, where not the name
    __union__: ClassVar[bool] = False  # 3.x oneOf/anyOf with a discriminator: built as the member named
    __nested__: ClassVar[dict[str, tuple[str, str]]] = {}
    __nullable__: ClassVar[frozenset[str]] = frozenset()
    __properties__: ClassVar[tuple[str, ...]] = ()
    __registry__: ClassVar[ModelRegistry]
    __validator__: ClassVar[Validator]

    __slots__ = ("_data", "_raw")  # _raw: _data is the JSON the model was built from, untouched

    if TYPE_CHECKING:  # what macaron.store gives x-persist models (store/_binding.py), so services type-check
        @classmethod
        def get(cls, key: Any) -> Self | None: ...
        @classmethod
        def find_by(cls, field: str, value: Any) -> Self | None: ...
        @classmethod
        def find_all_by(cls, field: str, value: Any, *, limit: int | None = None) -> list[Self]: ...
        def create(self) -> Self: ...
        def save(self, *, expect: Mapping[str, Any] | None = None) -> Self: ...
        def delete(self) -> bool: ...

    def __init__(self, **fields: Any) -> None:
        object.__setattr__(self, "_data", dict(fields))
        object.__setattr__(self, "_raw", False)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        data = object.__getattribute__(self, "_data")
        if name in data:
            if self._raw and name in type(self).__nested__:
                data = self._materialise()
            return data[name]
        if name in type(self).__properties__:
            return None
        raise AttributeError(f"{type(self).__model_name__} has no property {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        self._materialise()[name] = value

    def __delattr__(self, name: str) -> None:
        self._materialise().pop(name, None)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._dump(False) == other._dump(False)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value, like dict

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._materialise().items())
        return f"{type(self).__model_name__}({fields})"

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self._materialise().items())

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, validate: bool = True) -> Any:
        """Build a model (and its nested models) from its JSON form."""
        if validate:
            _, errors = cls.__validator__(dict(data), [])
            if errors:
                raise ValidationFailed(f"not a valid {cls.__model_name__}", errors=errors)
        return cls.__registry__.build(cls, _dump(data, True))  # a copy: the caller keeps its dict

    def to_json(self) -> dict[str, Any]:
        """The JSON form, a fresh copy: nested models serialised, unset non-nullable ``None``
        fields dropped (values that came from JSON are kept as they came)."""
        return self._dump(True)

    def _dump(self, fresh: bool) -> dict[str, Any]:
        """The JSON form; ``fresh=False`` may share the JSON the model was built from (for
        serialising it at once, never to keep or change)."""
        if self._raw:
            return _dump(self._data, True) if fresh else self._data
        nullable = type(self).__nullable__
        return {k: _dump(v, fresh) for k, v in self._data.items() if v is not None or k in nullable}

    def _materialise(self) -> dict[str, Any]:
        """Replace nested JSON by nested models (in a new dict: the JSON given is never changed)."""
        if self._raw:
            object.__setattr__(self, "_data", self.__registry__.nest(type(self), self._data))
            object.__setattr__(self, "_raw", False)
        return self._data

    def validate(self) -> None:
        """Raise :class:`ValidationFailed` naming every field that breaks the spec."""
        _, errors = type(self).__validator__(self.to_json(), [])
        if errors:
            raise ValidationFailed(f"not a valid {type(self).__model_name__}", errors=errors)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_plain(value: Any, *, fresh: bool = True) -> Any:
    """``value`` with every model in it (nested in lists and dicts too) as its JSON form.
    ``fresh=False`` may share JSON a model was built from: for encoding at once, never to keep."""
    return _dump(value, fresh)


def _dump(value: Any, fresh: bool) -> Any:
    if type(value) in _SCALARS:  # most values: one set lookup instead of three isinstance checks
        return value
    if isinstance(value, Model):
        return value._dump(fresh)
    if isinstance(value, list):
        return [_dump(v, fresh) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, fresh) for k, v in value.items()}
    return value


_MAPPING = (dict, Mapping)  # isinstance tries dict first: JSON objects skip the ABC check


def _ref_name(schema: Any) -> str | None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            return ref.split("/", 2)[2]
    return None


def _is_object_schema(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return (kinds == "object" or (isinstance(kinds, list) and "object" in kinds) or "properties" in schema
            or "allOf" in schema or "x-union" in schema)


def _nullable(schema: Any) -> bool:
    """x-nullable (2.0, 3.0's nullable) or 3.1's ``type: [..., "null"]``."""
    if not isinstance(schema, dict):
        return False
    kinds = schema.get("type")
    return bool(schema.get("x-nullable")) or (isinstance(kinds, list) and "null" in kinds)


class ModelRegistry:
    """The model classes of one spec, by definition name: ``models.User``."""

    def __init__(
        self, definitions: dict[str, Any], compiler: SchemaCompiler, store: Callable[[], Any] | None = None
    ) -> None:
        self._definitions = definitions
        self._compiler = compiler
        self.store = store  # the service's store getter, for models with x-persist (macaron.store)
        self._classes: dict[str, type[Model]] = {}
        for name, schema in definitions.items():
            if isinstance(schema, dict) and _is_object_schema(schema):
                self._class(name, ())

    def _class(self, name: str, building: tuple[str, ...]) -> type[Model] | None:
        if name in self._classes:
            return self._classes[name]
        schema = self._definitions.get(name)
        if not isinstance(schema, dict) or not _is_object_schema(schema) or name in building:
            return None
        bases: list[type[Model]] = []
        props: dict[str, Any] = dict(schema.get("properties") or {})
        for part in schema.get("allOf") or []:
            base_name = _ref_name(part)
            base = self._class(base_name, (*building, name)) if base_name else None
            if base is not None:
                bases.append(base)
            elif isinstance(part, dict):
                props.update(part.get("properties") or {})
        inherited: tuple[str, ...] = tuple(p for b in bases for p in b.__properties__)
        nested: dict[str, tuple[str, str]] = {}
        for base in bases:
            nested.update(base.__nested__)
        for prop, sub in props.items():
            if not isinstance(sub, dict):
                continue
            if ref := _ref_name(sub):
                nested[prop] = ("one", ref)
            elif sub.get("type") == "array" and (ref := _ref_name(sub.get("items"))):
                nested[prop] = ("list", ref)
            elif isinstance(sub.get("additionalProperties"), dict) and (ref := _ref_name(sub["additionalProperties"])):
                nested[prop] = ("map", ref)
        nullable = frozenset(p for p, s in props.items() if _nullable(s))
        namespace: dict[str, Any] = {
            "__slots__": (),
            "__model_name__": name,
            "__properties__": tuple(dict.fromkeys((*inherited, *props))),
            "__nested__": nested,
            "__nullable__": nullable | frozenset(p for b in bases for p in b.__nullable__),
            "__registry__": self,
            "__module__": "macaron.models",
            "__qualname__": name,
        }
        if isinstance(schema.get("discriminator"), str):
            namespace["__discriminator__"] = schema["discriminator"]
            namespace["__mapping__"] = dict(schema.get("x-discriminator-mapping") or {})
        union = schema.get("x-union")
        if isinstance(union, dict):
            namespace["__discriminator__"] = union["property"]
            namespace["__mapping__"] = dict(union.get("mapping") or {})
            namespace["__union__"] = True
        if "x-persist" in schema:  # store methods, from macaron.store (see .plugins)
            bases = plugins.persistence().bind(name, self._definitions, bases, namespace)
        cls: type[Model] = type(name, tuple(bases) or (Model,), namespace)
        self._classes[name] = cls
        cls.__validator__ = self._compiler.validator({"$ref": f"#/definitions/{name}"})
        return cls

    def __getattr__(self, name: str) -> type[Model]:
        try:
            return self._classes[name]
        except KeyError:
            raise AttributeError(f"no model named {name!r} in this spec") from None

    def __contains__(self, name: str) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def get(self, name: str) -> type[Model] | None:
        return self._classes.get(name)

    def build(self, cls: type[Model], data: Mapping[str, Any]) -> Model:
        """A ``cls`` over (already valid) JSON data; nested models are built on first use. Where
        ``cls``'s discriminator names one of its subtypes, an instance of that subtype."""
        if (tag := cls.__discriminator__) is not None and isinstance(name := data.get(tag), str):
            sub = self._classes.get(cls.__mapping__.get(name, name))
            if sub is not None and sub is not cls and (cls.__union__ or issubclass(sub, cls)):
                cls = sub
        obj = cls.__new__(cls)
        object.__setattr__(obj, "_data", data if type(data) is dict else dict(data))
        object.__setattr__(obj, "_raw", True)
        return obj

    def nest(self, cls: type[Model], data: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``data`` with the JSON of ``cls``'s nested properties built into models."""
        values = dict(data)
        for prop, (kind, ref) in cls.__nested__.items():
            value = values.get(prop)
            sub = self._classes.get(ref)
            if value is None or sub is None:
                continue
            if kind == "one" and isinstance(value, _MAPPING):
                values[prop] = self.build(sub, value)
            elif kind == "list" and isinstance(value, list):
                values[prop] = [self.build(sub, v) if isinstance(v, _MAPPING) else v for v in value]
            elif kind == "map" and isinstance(value, _MAPPING):
                values[prop] = {k: self.build(sub, v) if isinstance(v, _MAPPING) else v for k, v in value.items()}
        return values
