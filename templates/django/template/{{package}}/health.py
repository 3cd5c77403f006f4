"""/healthz for nginx, systemd and platform probes: JSON; it checks the database and that every
migration is applied, so a deploy that skipped `migrate` fails its health check."""

import logging
from collections.abc import Callable

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# Set once this process has seen every migration applied; migrations do not un-apply
# themselves, and loading them on every probe would cost more than the probe.
migrated = False


def unapplied_migrations() -> list[str]:
    """The migrations `manage.py migrate` would apply now, as app_label.name."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def healthz(request: HttpRequest) -> JsonResponse:
    global migrated
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = [] if migrated else unapplied_migrations()
    except DatabaseError:
        logger.exception("health check: the database is unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    if pending:
        logger.error("health check: %d migrations not applied, run migrate", len(pending))
        return JsonResponse(
            {"status": "error", "database": "ok", "migrations": f"{len(pending)} unapplied"},
            status=503,
        )
    migrated = True
    return JsonResponse({"status": "ok", "database": "ok", "migrations": "ok"})


class HealthCheckMiddleware:
    """Answer /healthz before host validation and the HTTPS redirect.

    Probes reach gunicorn directly (its socket, a container port) with whatever Host header and
    scheme they have; the site's ALLOWED_HOSTS and SECURE_SSL_REDIRECT would turn them away.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
