"""Sign-in limits per email and per client address, counted in the database (docs/accounts.md).

Every gunicorn worker shares the database, so every worker sees the same counts.
"""

from datetime import UTC, datetime, timedelta

from pyramid.request import Request
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..models import SignInFailure
from ..models.user import ADDRESS_LENGTH

WINDOW = timedelta(minutes=15)
PER_EMAIL, PER_ADDRESS = 5, 20


def client_address(request: Request) -> str:
    """The last X-Forwarded-For entry (the one nginx appended), else the peer's address.

    Not request.client_addr: WebOb takes the first entry, which the client writes itself.
    """
    forwarded = request.headers.get("X-Forwarded-For", "").rpartition(",")[2].strip()
    address = forwarded or request.remote_addr or ""
    return address[:ADDRESS_LENGTH] if address.isascii() and address.isprintable() else "?"


def is_limited(dbsession: Session, email: str, address: str) -> bool:
    since = datetime.now(UTC) - WINDOW
    recent = select(func.count()).select_from(SignInFailure).where(SignInFailure.failed_at > since)
    if email and dbsession.scalar(recent.where(SignInFailure.email == email)) >= PER_EMAIL:
        return True
    return dbsession.scalar(recent.where(SignInFailure.address == address)) >= PER_ADDRESS


def record_failure(dbsession: Session, email: str, address: str) -> None:
    now = datetime.now(UTC)
    dbsession.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - WINDOW))
    dbsession.add(SignInFailure(email=email, address=address, failed_at=now))
    dbsession.flush()


def clear_failures(dbsession: Session, email: str) -> None:
    dbsession.execute(delete(SignInFailure).where(SignInFailure.email == email))
