"""Item storage behind a protocol, so tests or a real database can stand in for SQLite."""

import sqlite3
import threading
from typing import Protocol

from .schemas import Item, ItemIn


class ItemRepository(Protocol):
    def list(self, offset: int, limit: int) -> list[Item]: ...

    def get(self, item_id: int) -> Item | None: ...

    def add(self, item: ItemIn) -> Item: ...

    def delete(self, item_id: int) -> bool: ...

    def close(self) -> None: ...


class SQLiteItemRepository:
    """Items in one SQLite file, shared safely by the threads of one worker process."""

    def __init__(self, path: str) -> None:
        # FastAPI runs sync endpoints in a thread pool: one connection, one lock.
        self._connection = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock, self._connection:
            # WAL lets the other gunicorn workers read while one writes.
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS items ("
                " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " name TEXT NOT NULL,"
                " description TEXT,"
                " quantity INTEGER NOT NULL DEFAULT 0)"
            )

    def list(self, offset: int, limit: int) -> list[Item]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT * FROM items ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [Item.model_validate(dict(row)) for row in rows]

    def get(self, item_id: int) -> Item | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT * FROM items WHERE id = ?", (item_id,)
            ).fetchone()
        return None if row is None else Item.model_validate(dict(row))

    def add(self, item: ItemIn) -> Item:
        with self._lock, self._connection:
            row = self._connection.execute(
                "INSERT INTO items (name, description, quantity) VALUES (?, ?, ?) RETURNING id",
                (item.name, item.description, item.quantity),
            ).fetchone()
        return Item(id=row["id"], **item.model_dump())

    def delete(self, item_id: int) -> bool:
        with self._lock, self._connection:
            cursor = self._connection.execute("DELETE FROM items WHERE id = ?", (item_id,))
        return cursor.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._connection.close()
