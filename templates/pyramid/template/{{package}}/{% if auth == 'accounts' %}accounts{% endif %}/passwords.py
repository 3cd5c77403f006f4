"""Email addresses and passwords: what an account accepts, and its Argon2id hash."""

import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..models import User
from ..models.user import EMAIL_LENGTH

MIN_PASSWORD, MAX_PASSWORD = 10, 1000
# One @, something on each side, a dot in the domain, and no spaces or control characters:
# whether the address works only a mail can tell.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

# argon2-cffi's defaults: Argon2id with the parameters RFC 9106 recommends.
hasher = PasswordHasher()
# What verifying a password that is not the account's raises.
NOT_THE_PASSWORD = (VerificationError, InvalidHashError, UnicodeEncodeError)


def normalize_email(value: object) -> str | None:
    """The address in lower case, or None when it is not one."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    if len(email) > EMAIL_LENGTH or not email.isprintable() or not is_utf8(email):
        return None
    return email if EMAIL.fullmatch(email) else None


def password_problem(password: object) -> str | None:
    """What is wrong with a new password, or None."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"The password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters."
    if password.isdigit():
        return "The password must not be only digits."
    if "\x00" in password or not is_utf8(password):
        return "The password must not contain NUL or lone surrogates."
    return None


def hash_password(password: str) -> str:
    return hasher.hash(password)


@functools.cache
def dummy_hash() -> str:
    return hasher.hash("an unknown account's password")


def check_password(user: User | None, password: str) -> bool:
    """Whether the password is the account's; the hash is upgraded when its parameters are
    old. An unknown account costs the same time, so timing does not tell which emails exist."""
    try:
        hasher.verify(user.password_hash if user else dummy_hash(), password)
    except NOT_THE_PASSWORD:
        return False
    if user is None:
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
