"""Personal fields: how the contract marks them and what they look like sealed.

A personal field is a top-level field of an event's ``data``, annotated with
:class:`Personal`, which names the key it is sealed with.  The marker is both
field metadata (for :func:`personal_fields`) and the JSON Schema keyword
``x-haven-personal`` (for other languages).  The whole value of the field is
sealed into a :class:`SealedField` (docs/architecture.md, Envelope) from the sealer on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Final, Literal

from pydantic import GetJsonSchemaHandler, StringConstraints, create_model
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from events.types.common import IDENTIFIER_PATTERN, ContractModel, EventData

#: JSON Schema keyword marking a personal field; its value is the key scope.
PERSONAL_KEYWORD: Final = "x-haven-personal"
#: Longest ciphertext: a 1 MiB plaintext with nonce and tag, in base64.
MAX_CIPHERTEXT_CHARS: Final = 1_400_000
BASE64_PATTERN: Final = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


#: A key id as issued by the keyring: ``subj:<subject>:<epoch>``, ``order:<order_id>``.
KeyId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=IDENTIFIER_PATTERN)]


class KeyScope(StrEnum):
    """Which key seals a personal field."""

    #: The subject's current key epoch (destroyed by an erasing withdrawal).
    SUBJECT = "subject"
    #: The protective order's own key (survives the subject's erasure).
    ORDER = "order"


@dataclass(frozen=True)
class Personal:
    """Field marker: ``Annotated[T, Personal(KeyScope.SUBJECT)]``."""

    scope: KeyScope

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Add ``x-haven-personal`` to the field's JSON Schema."""
        schema = handler(core_schema)
        schema[PERSONAL_KEYWORD] = self.scope.value
        return schema


class SealedField(ContractModel):
    """A personal value sealed with AES-256-GCM (see ``events.sealing``).

    ``kid`` names the key (a subject key epoch or an order key); ``ct`` is the
    base64 of nonce, ciphertext and tag; the associated data is the event id
    and the field path, so a sealed value cannot be moved elsewhere.
    """

    sealed: Literal["v1"]
    kid: KeyId
    ct: Annotated[
        str,
        StringConstraints(min_length=4, max_length=MAX_CIPHERTEXT_CHARS, pattern=BASE64_PATTERN),
    ]


def personal_fields(model_cls: type[ContractModel]) -> dict[str, KeyScope]:
    """The personal fields of a data model and the key scope of each (a fresh dict)."""
    return dict(_personal_fields(model_cls))


@cache
def _personal_fields(model_cls: type[ContractModel]) -> tuple[tuple[str, KeyScope], ...]:
    found: dict[str, KeyScope] = {}
    for name, info in model_cls.model_fields.items():
        for marker in info.metadata:
            if isinstance(marker, Personal):
                found[name] = marker.scope
    return tuple(found.items())


@cache
def sealed_variant(model_cls: type[EventData]) -> type[EventData]:
    """The same data model with every personal field typed as :class:`SealedField`.

    This is the form of ``data`` in the canonical log: a plain value in a
    personal field is rejected there, as a sealed value is rejected on input.
    """
    explicit = model_cls.__dict__.get("log_model")
    if explicit is not None:
        return explicit  # type: ignore[no-any-return]
    fields = personal_fields(model_cls)
    if not fields:
        return model_cls
    overrides: dict[str, Any] = {}
    for name, scope in fields.items():
        info = model_cls.model_fields[name]
        sealed_type: Any = SealedField if info.is_required() else SealedField | None
        annotated = Annotated[sealed_type, Personal(scope)]
        overrides[name] = (annotated, ... if info.is_required() else None)
    return create_model(
        f"{model_cls.__name__}Sealed",
        __base__=model_cls,
        __module__=model_cls.__module__,
        __doc__=f"{model_cls.__name__} as stored in the log: personal fields sealed.",
        **overrides,
    )


def personal_paths(data: ContractModel) -> list[tuple[tuple[str, ...], KeyScope]]:
    """Every personal field present in ``data``: its path below ``data`` and its key scope.

    Top-level personal fields, plus those of the models held in the fields an
    event type lists as ``nested_personal`` (a rectification's ``fields``).
    """
    found: list[tuple[tuple[str, ...], KeyScope]] = [
        ((name,), scope) for name, scope in _personal_fields(type(data))
    ]
    for container in getattr(type(data), "nested_personal", ()):
        inner = getattr(data, container, None)
        if isinstance(inner, ContractModel):
            found += [
                ((container, name), scope)
                for name, scope in _personal_fields(type(inner))
                if getattr(inner, name, None) is not None
            ]
    return found
