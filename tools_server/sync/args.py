"""Command arguments for comments and for project, section and label commands beyond add (reference §3).

Arguments are dumped with ``exclude_unset``, so only the documented keys a planner sets are ever sent.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


ViewStyle = Literal["list", "board", "calendar"]


class ProjectUpdateArgs(_Lenient):
    id: str
    name: Annotated[str, Field(min_length=1)] | None = None
    color: str | None = None
    is_collapsed: bool | None = None
    is_favorite: bool | None = None
    view_style: ViewStyle | None = None
    description: str | None = None


class ProjectMoveArgs(_Lenient):
    """``parent_id`` null (sent explicitly) moves the project to the root."""

    id: str
    parent_id: str | None = None


class ChildOrder(_Lenient):
    id: str
    child_order: int


class ItemReorderArgs(_Lenient):
    items: Annotated[list[ChildOrder], Field(min_length=1)]


class ProjectReorderArgs(_Lenient):
    projects: Annotated[list[ChildOrder], Field(min_length=1)]


class SectionUpdateArgs(_Lenient):
    id: str
    name: Annotated[str, Field(min_length=1)] | None = None
    is_collapsed: bool | None = None


class SectionMoveArgs(_Lenient):
    id: str
    project_id: str


class SectionOrder(_Lenient):
    id: str
    section_order: int


class SectionReorderArgs(_Lenient):
    sections: Annotated[list[SectionOrder], Field(min_length=1)]


class LabelAddArgs(_Lenient):
    name: Annotated[str, Field(min_length=1)]
    color: str | None = None
    item_order: int | None = None
    is_favorite: bool | None = None


class LabelUpdateArgs(_Lenient):
    id: str
    name: Annotated[str, Field(min_length=1)] | None = None
    color: str | None = None
    item_order: int | None = None
    is_favorite: bool | None = None


class LabelDeleteArgs(_Lenient):
    id: str
    cascade: Literal["all", "none"] | None = None


class LabelOrdersArgs(_Lenient):
    id_order_mapping: dict[str, int]


class NoteAddArgs(_Lenient):
    """Exactly one of ``item_id`` (a task comment) or ``project_id`` (a project comment)."""

    content: Annotated[str, Field(min_length=1)]
    item_id: str | None = None
    project_id: str | None = None


class NoteUpdateArgs(_Lenient):
    id: str
    content: Annotated[str, Field(min_length=1)]
