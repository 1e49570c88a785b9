"""ProtoJSON of A2A responses, with each field's conversion chosen once.

The A2A JSON-RPC binding carries protobuf messages as ProtoJSON (A2A 1.0 §5.6;
``google.protobuf.json_format``). ``json_format.MessageToDict`` inspects every field's
descriptor on every call, which made it the largest single cost of a streamed task on
the worker. :func:`message_to_dict` gives the same dict for the same message — the
defaults of ``MessageToDict``: lowerCamelCase names, enums by name, 64-bit integers as
strings, bytes as base64, fields without presence omitted when default — from a
conversion chosen once per field. Well-known types (``Timestamp``, ``Struct``,
``Value`` …) are still converted by ``json_format`` itself.
"""

from __future__ import annotations

import base64
import functools
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

_INT64 = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_FLOATS = frozenset({FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE})

Convert = Callable[[Any], Any]


def message_to_dict(message: Message) -> Any:
    """``json_format.MessageToDict(message)``, faster.

    Returns a ``dict`` for ordinary messages; for a well-known type what
    ``json_format`` gives (a string for ``Timestamp``, any JSON value for ``Value``).
    """
    if message.DESCRIPTOR.full_name.startswith("google.protobuf."):
        return json_format.MessageToDict(message)
    return {_name(field): _converter(field)(value) for field, value in message.ListFields()}


@functools.cache
def _name(field: FieldDescriptor) -> str:
    return str(field.json_name)


def _is_repeated(field: FieldDescriptor) -> bool:
    """``field.is_repeated`` (protobuf >= 6.31; protobuf 7 dropped ``label``)."""
    is_repeated = getattr(field, "is_repeated", None)
    if is_repeated is not None:
        return bool(is_repeated)
    return getattr(field, "label", None) == FieldDescriptor.LABEL_REPEATED


@functools.cache
def _converter(field: FieldDescriptor) -> Convert:
    """How one field's value becomes JSON, decided once per field."""
    if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
        key_field = field.message_type.fields_by_name["key"]
        value = _single(field.message_type.fields_by_name["value"])
        if key_field.type == FieldDescriptor.TYPE_BOOL:
            return lambda entries: {
                ("true" if key else "false"): value(item) for key, item in entries.items()
            }
        return lambda entries: {str(key): value(item) for key, item in entries.items()}
    single = _single(field)
    if _is_repeated(field):
        return lambda values: [single(item) for item in values]
    return single


def _single(field: FieldDescriptor) -> Convert:
    """The conversion of one (not repeated) value of ``field``."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        return message_to_dict
    if kind == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type

        def enum_name(number: int) -> Any:
            known = enum.values_by_number.get(number)
            return known.name if known is not None else number

        return enum_name
    if kind in _INT64:
        return str
    if kind == FieldDescriptor.TYPE_BYTES:
        return lambda raw: base64.b64encode(raw).decode("utf-8")
    if kind in _FLOATS:
        shortest = kind == FieldDescriptor.TYPE_FLOAT

        def number(value: float) -> Any:
            if math.isinf(value):
                return "-Infinity" if value < 0 else "Infinity"
            if math.isnan(value):
                return "NaN"
            return type_checkers.ToShortestFloat(value) if shortest else value

        return number
    return _same


def _same(value: Any) -> Any:
    return value
