"""A password validator Django lacks: a ceiling, so a megabyte "password" is refused before
anything hashes it. Listed in AUTH_PASSWORD_VALIDATORS with Django's own."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError

MAX_PASSWORD_LENGTH = 1000


class MaximumLengthValidator:
    def __init__(self, max_length: int = MAX_PASSWORD_LENGTH) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long. It must contain at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password must contain at most {self.max_length} characters."
