"""An in-memory item store: the seam where a real database goes.

Each gunicorn worker holds its own copy, so items do not survive a restart or span workers.
"""

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    quantity: int


class ItemStore:
    def __init__(self) -> None:
        self._items: dict[int, Item] = {}
        self._next_id = 1
        self._lock = threading.Lock()  # gthread workers share one store between threads

    def list(self, limit: int) -> list[Item]:
        with self._lock:
            return list(self._items.values())[:limit]

    def get(self, item_id: int) -> Item | None:
        return self._items.get(item_id)

    def add(self, name: str, quantity: int) -> Item:
        with self._lock:
            item = Item(self._next_id, name, quantity)
            self._items[item.id] = item
            self._next_id += 1
            return item

    def delete(self, item_id: int) -> bool:
        with self._lock:
            return self._items.pop(item_id, None) is not None
