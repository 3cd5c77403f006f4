"""Signing in, for the page and for /api/token alike: the limits, the password, the failures."""

from pyramid.request import Request

from ..models import User
from . import limits
from .passwords import check_password, normalize_email


class TooManyFailures(Exception):
    """The email or the client address failed too often lately: refused, even when right."""


def authenticate(request: Request, email: str, password: str) -> User | None:
    """The account, or None when the email or password is wrong (the caller cannot tell which).

    The failure is counted: flushed now, it is committed with the request's answer.
    """
    dbsession = request.dbsession
    normalized = normalize_email(email) or ""
    address = limits.client_address(request)
    if limits.is_limited(dbsession, normalized, address):
        raise TooManyFailures
    user = dbsession.query(User).filter_by(email=normalized).one_or_none() if normalized else None
    if check_password(user, password) and user is not None and user.is_active:
        limits.clear_failures(dbsession, normalized)
        return user
    limits.record_failure(dbsession, normalized, address)
    return None
