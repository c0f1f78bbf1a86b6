"""Compact records read straight from JSON bytes, strictly when the value is conventional and leniently when not.

The mirror holds every task of an account, so its objects are ``msgspec`` Structs (a dependency for this): fixed
slots, no per-object ``__dict__`` and, with ``gc=False``, no GC header or traversal (they hold only strings, numbers,
tuples, untracked structs and the odd small dict, so they can never be part of a reference cycle). msgspec decodes
bytes into them in one pass, with no intermediate tree of dicts.

Reading is in two steps so the common case pays nothing for leniency: ``Decoder.decode`` (strict, fast); only an
object it refuses is decoded to plain values, numbers where a string belongs turned into strings (ids that look
numeric; pydantic's ``coerce_numbers_to_str``), and converted with msgspec's lax rules (``"4"`` or ``4.0`` for an int,
``1`` for a bool). What still fails is a ``msgspec.ValidationError``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any, Literal, Self, TypeVar, cast

import msgspec
import msgspec.inspect as mi
import msgspec.structs

_R = TypeVar("_R", bound="Record")


class Record(msgspec.Struct, kw_only=True, gc=False, omit_defaults=True):
    """Base of the mirrored objects. Equality compares every field; objects are replaced, never mutated.

    Encoded without the fields that hold their default (read back as the default): a task kept in an undo record, a
    cursor's view or `call`'s mirror was 484 bytes, about half of them nulls, falses and empty lists. ``model_dump``
    still gives every field."""

    # Named as pydantic names them, so code written against the earlier pydantic models reads the same.
    @classmethod
    def model_validate(cls, data: object) -> Self:
        """``data`` (plain JSON values) as this record, read as leniently as a response; raises
        ``msgspec.ValidationError``."""
        return convert(cls, data)

    def model_dump(self, *, mode: Literal["python", "json"] = "python", exclude_none: bool = False) -> dict[str, Any]:
        """Every field as plain JSON values (nested records as dicts, tuples as lists); ``mode`` is accepted for
        the callers that pass it: the values are JSON values either way."""
        del mode
        dumped = cast(dict[str, Any], _plain(self))
        return _without_none(dumped) if exclude_none else dumped


@cache
def _names(cls: type[Record]) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, f.encode_name) for f in msgspec.structs.fields(cls))


def _plain(value: Any) -> Any:
    """``value`` as JSON values with every field of its records, defaults included (encoding leaves them out)."""
    if isinstance(value, Record):
        return {key: _plain(getattr(value, name)) for name, key in _names(type(value))}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in cast(Sequence[Any], value)]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in cast(dict[str, Any], value).items()}
    return value


def decoder(cls: type[_R]) -> msgspec.json.Decoder[_R]:
    return msgspec.json.Decoder(cls)


def read(cls: type[_R], strict: msgspec.json.Decoder[_R], raw: bytes | msgspec.Raw) -> _R:
    """One object from its JSON text: strictly, else leniently (``convert``); raises ``msgspec.ValidationError``
    (or ``msgspec.DecodeError`` for text that is not JSON)."""
    try:
        return strict.decode(raw)
    except msgspec.ValidationError:
        return msgspec.convert(_numbers_to_str(msgspec.json.decode(raw), _info(cls)), cls, strict=False)


def convert(cls: type[_R], data: object) -> _R:
    """Plain JSON values as ``cls``: strictly, else with numbers accepted for strings and msgspec's lax coercions."""
    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError:
        return msgspec.convert(_numbers_to_str(data, _info(cls)), cls, strict=False)


def describe(exc: msgspec.ValidationError) -> tuple[str, str]:
    """(where, why) of a failed read, e.g. ``("due.date", "missing")``, in the dotted form pydantic's errors had.
    msgspec quotes no input in these (only enum and constraint errors would, and records declare neither)."""
    text = str(exc)
    why, _, at = text.partition(" - at `$")
    where = at.rstrip("`").lstrip(".")
    where = re.sub(r"\[(\d+)\]", r".\1", where).lstrip(".")
    missing = re.fullmatch(r"Object missing required field `([^`]*)`", why)
    if missing:
        where, why = ".".join(part for part in (where, missing.group(1)) if part), "missing"
    return where, why


@cache
def _info(cls: type[Record]) -> mi.Type:
    return mi.type_info(cls)


def _numbers_to_str(value: object, kind: mi.Type) -> object:
    unchanged = value
    if isinstance(value, int | float) and not isinstance(value, bool):
        options = kind.types if isinstance(kind, mi.UnionType) else (kind,)
        takes_number = any(isinstance(t, mi.IntType | mi.FloatType | mi.AnyType) for t in options)
        if not takes_number and any(isinstance(t, mi.StrType) for t in options):
            return str(value)
        return value
    if isinstance(kind, mi.UnionType):
        inner = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        return _numbers_to_str(value, inner[0]) if len(inner) == 1 else value
    if isinstance(value, dict) and isinstance(kind, mi.StructType):
        fields = {f.encode_name: f.type for f in kind.fields}
        data = cast(dict[str, Any], value)
        return {key: _numbers_to_str(v, fields[key]) if key in fields else v for key, v in data.items()}
    if isinstance(value, list) and isinstance(kind, mi.ListType | mi.VarTupleType):
        return [_numbers_to_str(v, kind.item_type) for v in cast(list[Any], value)]
    return unchanged


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in cast(dict[str, Any], value).items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in cast(list[Any], value)]
    return value
