"""Request and response bodies, validated and documented by pydantic."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ItemIn(BaseModel):
    """What a client sends to create an item."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["Teapot"])
    description: str | None = Field(default=None, max_length=1000)
    quantity: int = Field(default=0, ge=0, le=1_000_000)


class Item(ItemIn):
    """An item as stored and returned."""

    id: int


class Health(BaseModel):
    status: str = "ok"


class Welcome(BaseModel):
    name: str
    version: str
    docs: str
    openapi: str


class ErrorDetail(BaseModel):
    status: int
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """The one shape every error response has."""

    error: ErrorDetail
