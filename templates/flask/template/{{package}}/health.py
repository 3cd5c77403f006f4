"""Liveness probe for nginx, systemd and platform health checks."""

from typing import Any

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}
