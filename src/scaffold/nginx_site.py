"""Localize a project's nginx site so an unprivileged nginx can serve it from a temporary prefix.

The deploy layer's site file (deploy/nginx/<package>.conf) holds only `upstream` and `server`
blocks written in a few fixed forms; `localize_site` rewrites exactly those forms and refuses a
file that lacks one, so a drifting template fails loudly instead of being checked half-way.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scaffold.errors import OperationFailed

MIME_TYPES = Path("/etc/nginx/mime.types")
OPENSSL_TIMEOUT = 30


@dataclass(frozen=True)
class LocalSite:
    """Where the localized site listens and what it reads."""

    http_port: int
    https_port: int
    upstream_socket: Path  # the unix socket nginx proxies to
    certificate: Path
    certificate_key: Path
    static_root: Path  # the project's static_dir, served at /static/
    acme_root: Path | None = None  # where certbot's challenges are read; None: /var/www/html


# (name, pattern, required): each pattern matches one contract form in the deploy layer's site.
_UPSTREAM = re.compile(r"(server\s+)unix:/run/[^;\s]+/[\w-]+\.sock(\s+fail_timeout=0\s*;)")
_LISTEN_HTTP = re.compile(r"(listen\s+)80\b([^;]*;)")
_LISTEN_HTTPS = re.compile(r"(listen\s+)443(\s+ssl\s+http2\b[^;]*;)")
_LISTEN_IPV6 = re.compile(r"^[ \t]*listen\s+\[::\]:(?:80|443)\b[^;]*;[ \t]*\n", re.MULTILINE)
_CERT = re.compile(r"(ssl_certificate\s+)/etc/letsencrypt/live/[^/\s]+/fullchain\.pem(\s*;)")
_CERT_KEY = re.compile(r"(ssl_certificate_key\s+)/etc/letsencrypt/live/[^/\s]+/privkey\.pem(\s*;)")
_STATIC_ALIAS = re.compile(r"(alias\s+)/srv/[^;\s]+/(\s*;)")
_ACME_ROOT = re.compile(
    r"(location\s+/\.well-known/acme-challenge/\s*\{\s*root\s+)/var/www/html(\s*;)"
)
# Absolute log paths would need root; the prefix nginx.conf decides where logs go instead.
_LOG_LINE = re.compile(r"^[ \t]*(?:access_log|error_log)\s+/[^;]*;[ \t]*\n", re.MULTILINE)


def localize_site(text: str, site: LocalSite) -> str:
    """Return the site with ports, socket, certificate and static path pointing at temp places."""

    def sub(pattern: re.Pattern[str], replacement: str, what: str, text: str) -> str:
        new, count = pattern.subn(replacement, text)
        if count == 0:
            raise OperationFailed(
                f"the nginx site lacks the line `{what}`",
                "restore deploy/nginx/ from the template (`scaffold update`)",
            )
        return new

    def keep(value: object) -> str:
        return str(value).replace("\\", "\\\\")  # re.sub replacement escaping

    text = sub(
        _UPSTREAM,
        rf"\g<1>unix:{keep(site.upstream_socket)}\g<2>",
        "server unix:/run/<package>/<server>.sock fail_timeout=0;",
        text,
    )
    text = sub(_LISTEN_HTTP, rf"\g<1>127.0.0.1:{site.http_port}\g<2>", "listen 80 ...;", text)
    text = sub(
        _LISTEN_HTTPS, rf"\g<1>127.0.0.1:{site.https_port}\g<2>", "listen 443 ssl http2 ...;", text
    )
    text = sub(
        _CERT,
        rf"\g<1>{keep(site.certificate)}\g<2>",
        "ssl_certificate /etc/letsencrypt/live/<domain>/fullchain.pem;",
        text,
    )
    text = sub(
        _CERT_KEY,
        rf"\g<1>{keep(site.certificate_key)}\g<2>",
        "ssl_certificate_key /etc/letsencrypt/live/<domain>/privkey.pem;",
        text,
    )
    text = sub(
        _STATIC_ALIAS,
        rf"\g<1>{keep(site.static_root)}/\g<2>",
        "alias /srv/<package>/<static_dir>/;",
        text,
    )
    if site.acme_root is not None:
        text = sub(
            _ACME_ROOT,
            rf"\g<1>{keep(site.acme_root)}\g<2>",
            "location /.well-known/acme-challenge/ { root /var/www/html; }",
            text,
        )
    text = _LISTEN_IPV6.sub("", text)  # the test machine may have no IPv6 loopback
    return _LOG_LINE.sub("", text)


def _worker_user() -> str:
    """As root, nginx would drop its workers to `nobody`, who cannot reach our temp files."""
    if os.geteuid() != 0:
        return ""  # unprivileged: workers run as us, `user` is ignored anyway
    return f"user {pwd.getpwuid(os.geteuid()).pw_name};\n"


def prefix_conf(prefix: Path, site_conf: Path, error_log: Path) -> str:
    """The main nginx.conf for a prefix: every path nginx writes lives under it."""
    mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.is_file() else ""
    temp = "\n".join(
        f"    {name}_temp_path {prefix / 'temp' / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"# Written by `scaffold check`; serves one project from {prefix}.\n"
        f"{_worker_user()}"
        "daemon off;\n"
        "worker_processes 1;\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {error_log} warn;\n"
        "events {\n    worker_connections 1024;\n}\n"
        "http {\n"
        f"{mime}"
        "    default_type application/octet-stream;\n"
        f"    access_log {prefix / 'logs' / 'access.log'};\n"
        f"{temp}\n"
        f"    include {site_conf};\n"
        "}\n"
    )


def write_prefix(prefix: Path, site_text: str, site: LocalSite, error_log: Path) -> Path:
    """Write the localized site and nginx.conf under prefix; return the nginx.conf path."""
    for name in ("logs", "temp"):
        (prefix / name).mkdir(parents=True, exist_ok=True)
    site_conf = prefix / "site.conf"
    site_conf.write_text(localize_site(site_text, site), encoding="utf-8")
    conf = prefix / "nginx.conf"
    conf.write_text(prefix_conf(prefix, site_conf, error_log), encoding="utf-8")
    return conf


def make_self_signed(domain: str, directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for domain (EC keys: generated in milliseconds)."""
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    command = [
        "openssl",
        "req",
        "-x509",
        "-nodes",
        "-days",
        "2",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-subj",
        f"/CN={domain}",
        "-addext",
        f"subjectAltName=DNS:{domain}",
        "-keyout",
        str(key),
        "-out",
        str(cert),
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=OPENSSL_TIMEOUT, check=False
        )
    except FileNotFoundError as error:
        raise OperationFailed(
            "openssl is not installed", "install it (apt-get install openssl) or use --no-nginx"
        ) from error
    if result.returncode != 0:
        raise OperationFailed(
            f"openssl failed: {result.stderr.strip()[-200:]}", "check the openssl installation"
        )
    return cert, key
