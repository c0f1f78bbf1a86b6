"""What a Sync request may carry, read with the local backend's own rules (fidelity reference §3, §6 and §9), never
the client's models: the request limits, the argument types several command families share, and ``parse_args``.

Unknown keys are ignored, as Todoist ignores them; values Todoist refuses are refused with INVALID_ARGUMENT_VALUE
naming the argument. Each family's own argument models live beside its handlers in ``commands/``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from tools_server.local.errors import invalid_argument

# Todoist's request limits (reference §6): at most 100 commands and 1 MiB of body per request.
MAX_COMMANDS_PER_REQUEST = 100
MAX_BODY_BYTES = 1024 * 1024

# Two undocumented due shapes this repository's client once sent: a datetime as ``due.datetime`` (the documented
# input puts it in ``due.date``) and ``"lang": null`` (the SDK's input type is a string). Todoist documents neither,
# so both are refused with INVALID_ARGUMENT_VALUE naming ``due.datetime`` / ``due.lang``.
# ``SyncStore(accept_client_due_shapes=True)`` or TOOLS_SERVER_LOCAL_LENIENT_DUES=1 accepts them (old clients).
ACCEPT_CLIENT_DUE_SHAPES = os.environ.get("TOOLS_SERVER_LOCAL_LENIENT_DUES") == "1"

Id = Annotated[StrictStr, Field(min_length=1)]
Order = StrictInt
# Todoist's due-date languages (DC "Due dates").
DueLang = Literal["en", "da", "pl", "zh", "ko", "de", "pt", "ja", "it", "fr", "sv", "ru", "es", "nl", "fi", "nb", "tw"]
# Todoist's color names (DC "Colors", ids 30-49).
Color = Literal[
    "berry_red", "red", "orange", "yellow", "olive_green", "lime_green", "green", "mint_green", "teal", "sky_blue",
    "light_blue", "blue", "grape", "violet", "lavender", "magenta", "salmon", "charcoal", "grey", "taupe",
]  # fmt: skip


class Args(BaseModel):
    """The base of every command's arguments: unknown keys are ignored, as Todoist ignores them."""

    model_config = ConfigDict(extra="ignore")


class IdArgs(Args):
    """The commands that name one object and nothing else (archive, unarchive, delete)."""

    id: Id


class DurationArg(Args):
    """Both fields required; a positive whole number of minutes or days (docs: "positive integer")."""

    amount: Annotated[int, Field(gt=0)]
    unit: Literal["minute", "day"]


class DueArg(Args):
    """A due as a command sends it: ``{string[, lang][, timezone]}``, ``{date[, timezone]}`` or a whole due object.

    ``datetime`` is not a documented input key; it is read only so the handler can name it when refusing it.
    """

    string: str | None = None
    date: str | None = None
    datetime: str | None = None
    timezone: str | None = None
    lang: DueLang | None = None
    is_recurring: bool | None = None


class DeadlineArg(Args):
    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    lang: str | None = None


M = TypeVar("M", bound=BaseModel)


def parse_args(model: type[M], raw: dict[str, Any]) -> M:
    """``raw`` read with ``model``, or INVALID_ARGUMENT_VALUE naming the first bad argument (e.g. ``due.lang``)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        argument = ".".join(str(part) for part in first["loc"]) or "args"
        raise invalid_argument(argument, first["msg"]) from None
