"""Local development: DEBUG on by default, localhost allowed. Never serve these settings."""

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, SECRET_KEY, env_bool

DEBUG = env_bool("DJANGO_DEBUG", default=True)

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "localhost", "127.0.0.1", "[::1]"]

# A fixed key keeps `manage.py` working before .env exists; production refuses this prefix.
SECRET_KEY = SECRET_KEY or "django-insecure-local-development-only"  # noqa: S105
