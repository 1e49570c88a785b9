"""Required-field validation of A2A requests, with each message type inspected once.

a2a-sdk checks the fields its protos mark ``REQUIRED`` (``google.api.field_behavior``,
A2A 1.0 §5.7) on every request (``validate_proto_required_fields``), reading each
field's options on every call; on the worker's request path that was an eighth of a
task's CPU. :func:`validate_required_fields` gives the same errors, in the same order,
with the same ``InvalidParamsError``, from a per-type plan computed once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from a2a.utils.errors import InvalidParamsError
from google.api.field_behavior_pb2 import REQUIRED, field_behavior
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from app.protojson import is_repeated

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Field:
    """What validation needs to know about one field."""

    name: str
    required: bool
    repeated: bool
    has_presence: bool
    default: Any
    message: bool
    map_entry: bool
    map_of_messages: bool


@functools.cache
def _plan(descriptor: Descriptor) -> tuple[_Field, ...]:
    """The fields of ``descriptor`` that are required or may hold required fields."""
    plan = []
    for field in descriptor.fields:
        required = REQUIRED in field.GetOptions().Extensions[field_behavior]
        message = field.type == FieldDescriptor.TYPE_MESSAGE
        if not (required or message):
            continue
        repeated = is_repeated(field)
        map_entry = message and repeated and field.message_type.GetOptions().map_entry
        plan.append(
            _Field(
                name=field.name,
                required=required,
                repeated=repeated,
                has_presence=field.has_presence,
                default=None if repeated or message else field.default_value,
                message=message,
                map_entry=bool(map_entry),
                map_of_messages=bool(
                    map_entry
                    and field.message_type.fields_by_name["value"].type
                    == FieldDescriptor.TYPE_MESSAGE
                ),
            )
        )
    return tuple(plan)


def _errors(message: Message) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for field in _plan(message.DESCRIPTOR):
        value = getattr(message, field.name)
        if field.required:
            if field.repeated:
                if not value:
                    errors.append(
                        {"field": field.name, "message": "Field must contain at least one element."}
                    )
            elif field.has_presence:
                if not message.HasField(field.name):
                    errors.append({"field": field.name, "message": "Field is required."})
            elif value == field.default:
                errors.append({"field": field.name, "message": "Field is required."})
        if not field.message:
            continue
        if not field.repeated:
            if message.HasField(field.name):
                _nest(errors, field.name, _errors(value))
        elif field.map_entry:
            if field.map_of_messages:
                for key, item in value.items():
                    _nest(errors, f"{field.name}[{key}]", _errors(item))
        else:
            for index, item in enumerate(value):
                _nest(errors, f"{field.name}[{index}]", _errors(item))
    return errors


def _nest(errors: list[dict[str, str]], prefix: str, nested: list[dict[str, str]]) -> None:
    for error in nested:
        field = error["field"]
        errors.append(
            {"field": f"{prefix}.{field}" if field else prefix, "message": error["message"]}
        )


def validate_required_fields(message: Message) -> None:
    """Checks the fields A2A marks required, as a2a-sdk does.

    Raises:
        InvalidParamsError: a required field is missing or empty (``data.errors`` lists
            ``{"field", "message"}`` for each, like a2a-sdk's).
    """
    errors = _errors(message)
    if errors:
        raise InvalidParamsError(message="Validation failed", data={"errors": errors})


def validated(method: F) -> F:
    """Validates a ``RequestHandler`` method's request (its first argument) first.

    The same contract as a2a-sdk's ``validate_request_params``, for coroutine and
    async-generator methods alike.
    """
    if _is_async_generator(method):

        @functools.wraps(method)
        async def generator(self: Any, params: Message, *args: Any, **kwargs: Any) -> Any:
            validate_required_fields(params)
            inner = method(self, params, *args, **kwargs)
            try:
                async for item in inner:
                    yield item
            finally:
                await inner.aclose()

        return cast(F, generator)

    @functools.wraps(method)
    async def coroutine(self: Any, params: Message, *args: Any, **kwargs: Any) -> Any:
        validate_required_fields(params)
        return await method(self, params, *args, **kwargs)

    return cast(F, coroutine)


def _is_async_generator(method: Callable[..., Any]) -> bool:
    return inspect.isasyncgenfunction(inspect.unwrap(method))
