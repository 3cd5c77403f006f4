"""Signing up and signing in, for the pages and the API alike: the limits, the password, the
failures."""

from pyramid.httpexceptions import HTTPConflict
from pyramid.request import Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import User
from . import limits
from .passwords import check_password, hash_password, normalize_email

TAKEN = "An account with this email exists."


class TooManyFailures(Exception):
    """The email or the client address failed too often lately: refused, even when right."""


def find_user(dbsession: Session, email: str | None) -> User | None:
    return dbsession.scalar(select(User).where(User.email == email)) if email else None


def create_user(dbsession: Session, email: str, password: str) -> User | None:
    """The new account, or None when the email has one already."""
    if find_user(dbsession, email) is not None:
        return None
    user = User(email=email, password_hash=hash_password(password))
    dbsession.add(user)
    try:
        dbsession.flush()
    except IntegrityError as error:
        # Another request took the email since the look-up: the transaction is spoilt, so the
        # answer is raised, and pyramid_tm rolls back.
        raise HTTPConflict(TAKEN) from error
    return user


def authenticate(request: Request, email: str, password: str) -> User | None:
    """The account, or None when the email or password is wrong (the caller cannot tell which).

    The failure is counted: flushed now, it is committed with the request's answer.
    """
    dbsession = request.dbsession
    normalized = normalize_email(email) or ""
    address = limits.client_address(request)
    if limits.is_limited(dbsession, normalized, address):
        raise TooManyFailures
    user = find_user(dbsession, normalized)
    if check_password(user, password) and user is not None and user.is_active:
        limits.clear_failures(dbsession, normalized)
        return user
    limits.record_failure(dbsession, normalized, address)
    return None
