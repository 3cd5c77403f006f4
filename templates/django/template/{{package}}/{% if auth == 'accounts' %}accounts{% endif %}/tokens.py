"""Access tokens for the API: JWTs signed with HS256 and SECRET_KEY, valid for 30 minutes.

Verification accepts HS256 only (never "none" or another algorithm a forger picks), requires
`exp`, `iat` and `sub`, and the account must still exist and be active.
"""

import re
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

ALGORITHM = "HS256"
LIFETIME = timedelta(minutes=30)
# `sub` is the account's id: a BIGINT primary key, in decimal.
SUBJECT = re.compile(r"[1-9][0-9]{0,18}")
MAX_ID = 2**63 - 1


def issue_token(user: AbstractBaseUser) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(user.pk), "iat": now, "exp": now + LIFETIME}
    return jwt.encode(claims, settings.SECRET_KEY, algorithm=ALGORITHM)


def user_for_token(token: str) -> AbstractBaseUser | None:
    """The active account a valid token names, else None."""
    try:
        claims = jwt.decode(
            token,
            settings.SECRET_KEY,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.InvalidTokenError:
        return None
    subject = claims["sub"]
    if not isinstance(subject, str) or not SUBJECT.fullmatch(subject) or int(subject) > MAX_ID:
        return None
    return get_user_model().objects.filter(pk=int(subject), is_active=True).first()


def bearer_user(request: HttpRequest) -> AbstractBaseUser | None:
    """The account of the request's `Authorization: Bearer <token>`, else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token or not token.isascii():
        return None
    return user_for_token(token)
