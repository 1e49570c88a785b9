"""ProtoJSON of A2A messages both ways, with each field's conversion chosen once.

The A2A JSON-RPC binding carries protobuf messages as ProtoJSON (A2A 1.0 §5.6;
``google.protobuf.json_format``). ``json_format`` inspects every field's descriptor on
every call, which made it the largest single cost of a streamed task on the worker
(``MessageToDict``) and of a streamed call on the client (``ParseDict``, once per
event).

* :func:`message_to_dict` gives ``MessageToDict``'s dict for the same message — its
  defaults: lowerCamelCase names, enums by name, 64-bit integers as strings, bytes as
  base64, fields without presence omitted when default — from a conversion chosen once
  per field.
* :func:`dict_to_message` gives ``ParseDict(…, ignore_unknown_fields=True)``'s message
  for the same JSON value. It reads the common shapes itself (strings, booleans,
  integers, enums by name, messages, lists of them, timestamps) and hands any other
  value to ``ParseDict`` whole, so every error and every rare case is ``ParseDict``'s.

Well-known types other than ``Timestamp`` and ``Duration`` (``Struct``, ``Value`` …)
are converted by ``json_format`` itself.
"""

from __future__ import annotations

import base64
import datetime
import functools
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

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
_M = TypeVar("_M", bound=Message)

#: Well-known types whose ProtoJSON is a string read and written by the message itself.
_STRING_WKTS = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration"})
#: ``json_format``'s limit on nested messages (its ``max_recursion_depth`` default).
_MAX_DEPTH = 100
#: RFC 3339 in UTC, the form ``Timestamp.ToJsonString`` writes (ASCII digits only).
_UTC_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z"
)
_EPOCH = datetime.datetime(1970, 1, 1)
_INTEGERS = frozenset(
    {
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    }
)


def message_to_dict(message: Message) -> Any:
    """``json_format.MessageToDict(message)``, faster.

    Returns a ``dict`` for ordinary messages; for a well-known type what
    ``json_format`` gives (a string for ``Timestamp``, any JSON value for ``Value``).
    """
    full_name = message.DESCRIPTOR.full_name
    if full_name in _STRING_WKTS:
        return message.ToJsonString()
    if full_name.startswith("google.protobuf."):
        return json_format.MessageToDict(message)
    return {_name(field): _converter(field)(value) for field, value in message.ListFields()}


@functools.cache
def _name(field: FieldDescriptor) -> str:
    return str(field.json_name)


def is_repeated(field: FieldDescriptor) -> bool:
    """Whether ``field`` is repeated: ``field.is_repeated`` (protobuf >= 6.31;
    protobuf 7 dropped ``label``)."""
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
    if is_repeated(field):
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


def dict_to_message(value: Any, message_type: type[_M]) -> _M:
    """``json_format.ParseDict(value, message_type(), ignore_unknown_fields=True)``, faster.

    Args:
        value: A decoded JSON value (a ``dict`` for an ordinary message).
        message_type: The protobuf message class to build.

    Raises:
        google.protobuf.json_format.ParseError: ``value`` is not ProtoJSON of
            ``message_type`` (``ParseDict``'s error, message for message).
    """
    message = message_type()
    if isinstance(value, dict) and not message.DESCRIPTOR.full_name.startswith("google.protobuf."):
        try:
            _fill(message, value, 1)
            return message
        except Exception:  # anything unusual is answered by ParseDict
            message = message_type()
    return json_format.ParseDict(value, message, ignore_unknown_fields=True)


def _fill(message: Message, value: dict[str, Any], depth: int) -> None:
    """Sets ``value``'s fields on ``message``; raises on anything not read here."""
    if depth >= _MAX_DEPTH:
        raise ValueError("too deep")
    readers = _readers(message.DESCRIPTOR)
    seen: set[str] = set()
    for name, item in value.items():
        reader = readers.get(name)
        if reader is None:
            if name.startswith("["):
                raise ValueError("an extension")
            continue  # an unknown field, ignored as ParseDict(ignore_unknown_fields=True)
        field_name, group, read = reader
        if field_name in seen or (group is not None and group in seen):
            raise ValueError("a field or oneof given twice")
        seen.add(field_name)
        if group is not None:
            seen.add(group)
        read(message, item, depth)


_Reader = Callable[[Message, Any, int], None]


@functools.cache
def _readers(descriptor: Any) -> dict[str, tuple[str, str | None, _Reader]]:
    """JSON name and field name of each field → (field name, oneof name, reader)."""
    readers: dict[str, tuple[str, str | None, _Reader]] = {}
    for field in descriptor.fields:
        oneof = field.containing_oneof
        entry = (field.name, oneof.name if oneof is not None else None, _reader(field))
        readers.setdefault(field.json_name, entry)
        readers.setdefault(field.name, entry)
    return readers


def _reader(field: FieldDescriptor) -> _Reader:
    """How one field's JSON value is set on a message, decided once per field."""
    name = field.name
    if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        if field.message_type.GetOptions().map_entry:
            return _unsupported
        sub = _message_reader(field.message_type)
        if is_repeated(field):

            def read_messages(message: Message, value: Any, depth: int) -> None:
                if type(value) is not list:
                    raise ValueError("not a list")
                repeated = getattr(message, name)
                for item in value:
                    sub(repeated.add(), item, depth + 1)

            return read_messages

        def read_message(message: Message, value: Any, depth: int) -> None:
            child = getattr(message, name)
            child.SetInParent()
            sub(child, value, depth + 1)

        return read_message
    scalar = _scalar_reader(field)
    if scalar is None:
        return _unsupported
    if is_repeated(field):

        def read_scalars(message: Message, value: Any, depth: int) -> None:
            if type(value) is not list:
                raise ValueError("not a list")
            getattr(message, name).extend([scalar(item) for item in value])

        return read_scalars

    def read_scalar(message: Message, value: Any, depth: int) -> None:
        setattr(message, name, scalar(value))

    return read_scalar


def _message_reader(descriptor: Any) -> _Reader:
    """How a JSON value fills a message of type ``descriptor`` (a field's value)."""
    full_name = descriptor.full_name
    if full_name == "google.protobuf.Timestamp":
        return _read_timestamp
    if full_name in _STRING_WKTS:

        def read_string(message: Message, value: Any, depth: int) -> None:
            if type(value) is not str:
                raise ValueError("not a string")
            message.FromJsonString(value)

        return read_string
    if full_name.startswith("google.protobuf."):

        def read_well_known(message: Message, value: Any, depth: int) -> None:
            if value is None:
                raise ValueError("null")
            json_format.ParseDict(
                value,
                message,
                ignore_unknown_fields=True,
                max_recursion_depth=_MAX_DEPTH - depth + 1,
            )

        return read_well_known

    def read_fields(message: Message, value: Any, depth: int) -> None:
        if type(value) is not dict:
            raise ValueError("not an object")
        _fill(message, value, depth)

    return read_fields


def _read_timestamp(message: Message, value: Any, depth: int) -> None:
    """A ``Timestamp`` from RFC 3339 in UTC (``Z``), as ``Timestamp.FromJsonString``
    reads it; any other form (an offset, no fraction digits …) is read by it."""
    match = _UTC_TIMESTAMP.fullmatch(value) if type(value) is str else None
    if match is None:
        message.FromJsonString(value)
        return
    year, month, day, hour, minute, second, fraction = match.groups()
    elapsed = (
        datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        - _EPOCH
    )
    message.seconds = elapsed.days * 86_400 + elapsed.seconds
    message.nanos = round(float("0." + fraction) * 1e9) if fraction else 0


def _scalar_reader(field: FieldDescriptor) -> Convert | None:
    """The check and conversion of one scalar JSON value, or ``None`` if left to
    ``ParseDict`` (floats, bytes)."""
    cpp_type = field.cpp_type
    if cpp_type == FieldDescriptor.CPPTYPE_STRING and field.type != FieldDescriptor.TYPE_BYTES:
        return _string
    if cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        return _bool
    if cpp_type in _INTEGERS:
        return _integer
    if cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        numbers = {value.name: value.number for value in field.enum_type.values}

        def enum(value: Any) -> int:
            return numbers[value]  # KeyError for a number or an unknown name

        return enum
    return None


def _string(value: Any) -> str:
    if type(value) is not str:
        raise ValueError("not a string")  # a string with surrogates fails when it is set
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError("not a boolean")
    return value


def _integer(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("not an integer")
    return value


def _unsupported(message: Message, value: Any, depth: int) -> None:
    raise ValueError("left to ParseDict")
