"""The sample resource behind /api/items."""

from typing import Any

from pyramid.request import Request
from sqlalchemy import BigInteger, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

NAME_LENGTH = 200
DESCRIPTION_LENGTH = 2000
MAX_QUANTITY = 2**31 - 1


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    # 64-bit ids; SQLite numbers its rows itself only in an INTEGER PRIMARY KEY (its rowid).
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH), default="")
    quantity: Mapped[int] = mapped_column(Integer)

    def __json__(self, request: Request) -> dict[str, Any]:
        """What Pyramid's json renderer writes for an item."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "quantity": self.quantity,
        }
