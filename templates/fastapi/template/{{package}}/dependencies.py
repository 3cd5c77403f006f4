"""Providers for `Depends`: override them in tests with `app.dependency_overrides`."""

from typing import Annotated

from fastapi import Depends, Request

from .config import Settings, get_settings
from .repository import ItemRepository


def get_repository(request: Request) -> ItemRepository:
    """The repository the lifespan opened for this process."""
    repository: ItemRepository = request.state.repository
    return repository


SettingsDep = Annotated[Settings, Depends(get_settings)]
RepositoryDep = Annotated[ItemRepository, Depends(get_repository)]
