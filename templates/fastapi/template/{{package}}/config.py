"""Settings from the environment (APP_* variables, or the project's .env file)."""

import logging
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def default_database_path() -> str:
    """items.sqlite3 in systemd's StateDirectory (writable under the hardened unit), else here."""
    state_directory = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return str(Path(state_directory or ".") / "items.sqlite3")


class Settings(BaseSettings):
    """Every setting the app reads; .env.example lists the matching APP_* variables."""

    # Real environment variables win over .env, so systemd, CI and tests can override it.
    # An empty value (APP_DATABASE_PATH=) means "use the default".
    model_config = SettingsConfigDict(
        env_prefix="APP_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    log_level: LogLevel = "INFO"
    database_path: str = Field(default_factory=default_database_path)  # ":memory:" keeps nothing
    max_page_size: int = Field(default=100, ge=1, le=1000)


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process. Tests replace it via app.dependency_overrides."""
    return Settings()


def configure_logging(level: LogLevel) -> None:
    """Send this package's logs to stdout, where gunicorn, journald and Heroku collect them."""
    logger = logging.getLogger(__package__)
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
