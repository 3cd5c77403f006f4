"""Settings from environment variables (12-factor); `.env.example` lists every one."""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class Settings:
    log_level: str = "INFO"
    # Bearer token for the write endpoints. Empty means writes are refused, never open.
    api_token: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Self:
        """Read APP_* variables; refuse values that would silently misbehave."""
        log_level = environ.get("APP_LOG_LEVEL", cls.log_level).strip().upper() or cls.log_level
        if not isinstance(logging.getLevelName(log_level), int):
            raise RuntimeError(f"APP_LOG_LEVEL={log_level!r} is not a logging level, e.g. INFO")
        return cls(log_level=log_level, api_token=environ.get("APP_API_TOKEN", "").strip())
