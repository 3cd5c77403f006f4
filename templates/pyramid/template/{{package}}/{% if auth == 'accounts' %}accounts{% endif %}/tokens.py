"""Signed tokens (PyJWT, HS256, the SESSION_SECRET): API access tokens and reset links."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy.orm import Session

from ..models import User

ACCESS_LIFETIME = timedelta(minutes=30)
RESET_LIFETIME = timedelta(hours=1)
# A reset token names its audience; an access token has none, so neither passes for the other.
RESET_AUDIENCE = "password-reset"
ALGORITHMS = ["HS256"]  # only this one: never "none", never what the token's header asks for
MAX_ID = 2**63 - 1


def access_token(secret: str, user: User) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(user.id), "iat": now, "exp": now + ACCESS_LIFETIME}
    return jwt.encode(claims, secret, algorithm="HS256")


def access_token_user_id(secret: str, token: str) -> int | None:
    """The account id an access token names, or None for any token that is not a valid one."""
    claims = decode(secret, token, ["exp", "iat", "sub"])
    return None if claims is None else user_id(claims["sub"])


def reset_token(secret: str, user: User) -> str:
    """A link's token: it names the password hash, so it stops working once that changes."""
    claims = {
        "sub": str(user.id),
        "aud": RESET_AUDIENCE,
        "exp": datetime.now(UTC) + RESET_LIFETIME,
        "pwd": fingerprint(secret, user.password_hash),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def reset_token_user(dbsession: Session, secret: str, token: str) -> User | None:
    """The account a reset token is for, while it is unused and unexpired."""
    claims = decode(secret, token, ["exp", "sub", "aud", "pwd"], audience=RESET_AUDIENCE)
    if claims is None or (account_id := user_id(claims["sub"])) is None:
        return None
    user = dbsession.get(User, account_id)
    if user is None or not user.is_active or not isinstance(claims["pwd"], str):
        return None
    expected = fingerprint(secret, user.password_hash)
    return user if hmac.compare_digest(claims["pwd"], expected) else None


def decode(
    secret: str, token: str, required: list[str], audience: str | None = None
) -> dict[str, object] | None:
    if not token.isascii():  # PyJWT would fail to encode a lone surrogate
        return None
    try:
        return jwt.decode(
            token, secret, algorithms=ALGORITHMS, audience=audience, options={"require": required}
        )
    except jwt.InvalidTokenError:
        return None


def user_id(subject: object) -> int | None:
    if isinstance(subject, str) and subject.isascii() and subject.isdigit() and len(subject) < 20:
        return int(subject) if int(subject) <= MAX_ID else None
    return None


def fingerprint(secret: str, password_hash: str) -> str:
    digest = hmac.new(secret.encode(), password_hash.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]
