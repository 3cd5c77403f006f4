"""Liveness probe for nginx, systemd and platform health checks."""

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config


@view_config(route_name="healthz", renderer="json", http_cache=0)
def healthz(request: Request) -> dict[str, Any]:
    return {"status": "ok"}
