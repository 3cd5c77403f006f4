"""Production behind nginx: HTTPS only, secure cookies, HSTS, DEBUG off whatever the env says.

https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
Verify with `DJANGO_SETTINGS_MODULE=... python manage.py check --deploy --fail-level WARNING`.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, SECRET_KEY

DEBUG = False

if not SECRET_KEY or SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is missing or a development key; set a long random value in .env"
    )

# nginx terminates TLS and overwrites X-Forwarded-Proto, so the header can be trusted.
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True

# https://docs.djangoproject.com/en/5.2/ref/settings/#session-cookie-secure
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# HSTS for a year, on this host and its subdomains.
# https://docs.djangoproject.com/en/5.2/ref/middleware/#http-strict-transport-security
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preload asks browsers to hard-code HTTPS for the whole domain; once someone submits it to
# https://hstspreload.org, undoing it takes months. Opt in deliberately: set it to True and
# remove the silenced check below.
SECURE_HSTS_PRELOAD = False
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Reuse database connections across requests; health checks drop broken ones.
DATABASES = {"default": {**DATABASES["default"], "CONN_MAX_AGE": 600}}
