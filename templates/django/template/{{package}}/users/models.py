from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user. Add profile fields here; refer to it via settings.AUTH_USER_MODEL."""
