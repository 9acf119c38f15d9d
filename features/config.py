"""Typed settings: frozen dataclasses built from mappings, unknown keys refused.

Every configuration object of the libraries (a params.yaml section, a bundle's policy) is a
dataclass decorated with :func:`settings` and built by :func:`build`, which validates types,
enumerations (``Literal``) and each class's own ``__post_init__`` rules with pydantic. A bad
value becomes one :class:`~features.errors.DataError` line naming the dotted key, the rule and
the value, e.g. ``train.pd_model.learning_rate: must be in (0, 1]; got 5.0``.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from features.errors import DataError

T = TypeVar("T")


def settings(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True)`` whose pydantic validation refuses unknown keys."""
    cls.__pydantic_config__ = {"extra": "forbid"}  # type: ignore[attr-defined]
    return dataclass(frozen=True)(cls)


@cache
def _adapter(cls: type) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


def _known_keys(cls: type, path: tuple) -> list[str]:
    """Field names of the dataclass reached from ``cls`` along ``path`` (for a typo hint)."""
    for part in path:
        if not dataclasses.is_dataclass(cls):
            return []
        hints = typing.get_type_hints(cls)
        tp = hints.get(str(part))
        if tp is None:  # a mapping key (e.g. a grade label): step into the value type
            continue
        args = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        cls = tp if dataclasses.is_dataclass(tp) else (args[-1] if args else None)
    return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []


def describe_error(error: dict, where: str, cls: type | None = None) -> str:
    """One pydantic error as ``<where>.<dotted key>: <rule>; got <value>``."""
    loc = ".".join(str(p) for p in (where, *error["loc"]) if p != "")
    kind = error["type"]
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        known = _known_keys(cls, tuple(error["loc"][:-1])) if cls is not None else []
        close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{loc}: unknown key{hint}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "value_error":  # our own rules already say what they got
        return f"{loc}: {message}"
    return f"{loc}: {message[0].lower()}{message[1:]}; got {error.get('input')!r}"


def build(cls: type[T], data: Any, where: str = "") -> T:
    """Validate ``data`` (a mapping) into ``cls``; raises DataError naming the first problem."""
    from pydantic import ValidationError

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DataError(f"{where or cls.__name__}: must be a mapping; got {data!r}")
    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as exc:
        raise DataError(describe_error(exc.errors()[0], where, cls)) from None
