"""The items resource: list, read, create and delete."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from ..dependencies import RepositoryDep, SettingsDep
from ..schemas import ErrorResponse, Item, ItemIn

router = APIRouter(
    prefix="/items",
    tags=["items"],
    responses={422: {"model": ErrorResponse, "description": "Validation error"}},
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No item with this id"}
}


def get_or_404(repository: RepositoryDep, item_id: int) -> Item:
    item = repository.get(item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Item {item_id} does not exist.")
    return item


# Plain `def` endpoints: FastAPI runs them in its thread pool, so SQLite never blocks the loop.
@router.get("", response_model=list[Item])
def list_items(
    repository: RepositoryDep,
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, description="capped at APP_MAX_PAGE_SIZE")] = 20,
) -> list[Item]:
    return repository.list(offset=offset, limit=min(limit, settings.max_page_size))


@router.get("/{item_id}", response_model=Item, responses=NOT_FOUND)
def read_item(item_id: int, repository: RepositoryDep) -> Item:
    return get_or_404(repository, item_id)


@router.post("", response_model=Item, status_code=status.HTTP_201_CREATED)
def create_item(item: ItemIn, repository: RepositoryDep, response: Response) -> Item:
    created = repository.add(item)
    response.headers["Location"] = router.url_path_for("read_item", item_id=str(created.id))
    return created


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_item(item_id: int, repository: RepositoryDep) -> None:
    if not repository.delete(item_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Item {item_id} does not exist.")
