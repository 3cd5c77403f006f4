"""Facts the frameworks share: the deploy layer's variables, the database and accounts answers,
and the environment variables every framework spells the same way."""

from __future__ import annotations

from scaffold.catalog.model import ChoiceFact, EnvVar, Server, ServerSetup
from scaffold.questions import Question

# The native asgi worker beat uvicorn_worker.UvicornWorker on req/s, needs no extra package and
# keeps gunicorn's access log format and forwarded-header rules (benchmarks/README.md).
WORKER_CLASSES = {"wsgi": "sync", "asgi": "asgi"}
SERVER_DEPENDENCIES = {
    "wsgi": ("gunicorn>=23.0",),
    "asgi": ("gunicorn>=27.0",),  # the native asgi worker as tested; beta before 25
}
# The words that let one source serve both interfaces: `{{ async }}def on_get(...)` and
# `{{ await }}req.get_media()` (Falcon's layer).
ASYNC_WORDS = {
    "wsgi": {"async": "", "await": ""},
    "asgi": {"async": "async ", "await": "await "},
}
# In a Kubernetes pod: the container listens on its port, runs as many processes as its CPU
# limit (the pod sees every core of its node), and trusts X-Forwarded-* from any peer, since
# only the Service, fed by ingress-nginx, reaches it (deploy/kubernetes/network-policy.yaml).
CONTAINER_BIND = "0.0.0.0:8000"
POD_PROCESSES = "2"
ANY_PROXY = "*"
DEPLOY_ENV = (
    EnvVar(
        "GUNICORN_BIND",
        "unix:/run/{package}/gunicorn.sock",
        "where gunicorn listens; systemd socket activation overrides it",
        cluster_value=CONTAINER_BIND,
    ),
    # Never empty: gunicorn itself parses WEB_CONCURRENCY on import and fails on "".
    EnvVar(
        "WEB_CONCURRENCY",
        "3",
        "gunicorn worker processes; unset: 2 x cores + 1 for sync "
        "workers, one per core for async ones",
        cluster_value=POD_PROCESSES,
    ),
    EnvVar(
        "FORWARDED_ALLOW_IPS",
        "127.0.0.1,::1",
        "proxies whose X-Forwarded-* gunicorn "
        "trusts over TCP (a unix socket is guarded by its file mode); '*' on Heroku",
        cluster_value=ANY_PROXY,
    ),
)

GUNICORN = Server(
    "gunicorn",
    "gunicorn",
    ("gunicorn", "-c", "deploy/gunicorn.conf.py"),
    "GUNICORN_BIND",
    DEPLOY_ENV,
    dependencies=tuple(SERVER_DEPENDENCIES.items()),
    container_args=("--worker-tmp-dir", "/dev/shm"),
)

# gunicorn checks a hook's arity: the parameters each hook the catalog may name is called with.
GUNICORN_HOOK_ARGUMENTS = {
    "post_fork": ("server", "worker"),
    "post_worker_init": ("worker",),
    "worker_int": ("worker",),
    "worker_exit": ("server", "worker"),
    "when_ready": ("server",),
    "on_exit": ("server",),
}


def own_server(name: str, title: str) -> Server:
    """A framework's own server, run as `python -m <package>.serve` (the project's serve
    module): it reads the same kind of variables as gunicorn, under names of its own."""
    return Server(
        name,
        title,
        ("python", "-m", "{package}.serve"),
        "SERVER_BIND",
        (
            EnvVar(
                "SERVER_BIND",
                f"unix:/run/{{package}}/{name}.sock",
                f"where {title} listens (unix:PATH or HOST:PORT); systemd socket activation "
                "overrides it",
                cluster_value=CONTAINER_BIND,
            ),
            EnvVar(
                "WEB_CONCURRENCY",
                "2",
                "server processes; unset: one per core",
                cluster_value=POD_PROCESSES,
            ),
            EnvVar(
                "FORWARDED_ALLOW_IPS",
                "127.0.0.1,::1",
                "proxies whose X-Forwarded-For and X-Forwarded-Proto are trusted over TCP (a "
                "unix socket is guarded by its file mode); '*' on Heroku",
                cluster_value=ANY_PROXY,
            ),
        ),
        notifies=False,
        reloads=False,
    )


def database_question(*choices: str) -> Question:
    """The `database` answer; every framework but Django also offers `none`."""
    return Question("database", "Database", "sqlite", type="choice", choices=choices)


# The driver each database needs in the project's dependencies (sqlite3 ships with Python);
# psycopg 3 serves sync and asyncio code alike.
DRIVERS = {"none": (), "sqlite": (), "postgresql": ("psycopg[binary]>=3.2",)}


def database_dependencies(question: Question) -> ChoiceFact:
    return ChoiceFact(
        "database_dependencies", "database", tuple((c, DRIVERS[c]) for c in question.choices)
    )


DATABASE = database_question("none", "sqlite", "postgresql")
DJANGO_DATABASE = database_question("sqlite", "postgresql")  # the ORM needs one


def database_url(help_extra: str = "") -> EnvVar:
    """DATABASE_URL, the same in every framework: a relative sqlite path starts in the state
    directory; postgres:///<package> is peer authentication over the local unix socket."""
    return EnvVar(
        "DATABASE_URL",
        "sqlite:///db.sqlite3",
        "database URL; a relative sqlite path starts in $STATE_DIRECTORY under systemd "
        "(/var/lib/ and the package name), else in the project root" + help_extra,
        example_when=(("database", "postgresql", "postgres:///{package}"),),
        absent_when=(("database", "none"),),
        # A cluster reaches its database over the network, with a password.
        cluster_value="postgres://{package}:PASSWORD@DATABASE_HOST:5432/{package}",
        cluster_secret=True,
    )


def api_token(name: str) -> EnvVar:
    """The bearer token the /api/items writes need: generated into .env, never an example.
    With accounts, the writes need an account's access token instead (docs/accounts.md)."""
    return EnvVar(
        name,
        "",
        "bearer token for the API's writes (POST, DELETE); empty refuses them all",
        secret=True,
        absent_when=(("database", "none"), ("auth", "accounts")),
    )


# `auth=accounts`: sign-up, sign-in and password resets, and access tokens for the API; the
# users live in the database, so there must be one (docs/accounts.md).
AUTH = Question(
    "auth",
    "User accounts",
    "none",
    type="choice",
    choices=("none", "accounts"),
    excludes=(("accounts", "database", "none"),),
)
_WITHOUT_ACCOUNTS = (("auth", "none"),)
# Where account mail (password resets) goes: the same names in every framework.
MAIL_ENV = (
    EnvVar(
        "SMTP_HOST",
        "",
        "SMTP server for account mail (password resets); empty: each mail is written to the log",
        absent_when=_WITHOUT_ACCOUNTS,
    ),
    EnvVar(
        "SMTP_PORT",
        "587",
        "SMTP port: 587 speaks STARTTLS, 465 TLS from the start",
        absent_when=_WITHOUT_ACCOUNTS,
    ),
    EnvVar("SMTP_USERNAME", "", "SMTP login; empty: none", absent_when=_WITHOUT_ACCOUNTS),
    EnvVar(
        "SMTP_PASSWORD", "", "SMTP password", absent_when=_WITHOUT_ACCOUNTS, cluster_secret=True
    ),
    EnvVar(
        "MAIL_FROM",
        "noreply@{domain}",
        "the From address of account mail",
        absent_when=_WITHOUT_ACCOUNTS,
    ),
)
# The API frameworks have no session secret of their own: this one signs access tokens.
TOKEN_SECRET = EnvVar(
    "APP_SECRET_KEY",
    "",
    "signs the API's access tokens (JWT)",
    secret=True,
    absent_when=_WITHOUT_ACCOUNTS,
)


# DATABASE_URL=postgres:///{package}: peer authentication over the unix socket, as the service
# user, whose name is the role's.
POSTGRESQL_SETUP = ServerSetup(
    "database",
    "postgresql",
    packages=("postgresql",),
    services=("postgresql.service",),
    commands=(
        "runuser -u postgres -- createuser {deploy_user}",
        "runuser -u postgres -- createdb --owner {deploy_user} {package}",
    ),
)
