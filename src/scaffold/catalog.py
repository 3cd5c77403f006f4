"""The frameworks scaffold knows, as data. Templates, checks and the recommender read this."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from scaffold.errors import BadInput
from scaffold.questions import COMMON_QUESTIONS, Question


@dataclass(frozen=True)
class EnvVar:
    """One environment variable the generated project reads; `.env.example` lists them all."""

    name: str
    example: str
    help: str
    secret: bool = False  # generated per project into the untracked .env
    # (answer, value, example): a different example when an answer has that value
    example_when: tuple[tuple[str, str, str], ...] = ()
    # (answer, value): the variable does not exist when that answer has that value
    absent_when: tuple[tuple[str, str], ...] = ()

    @property
    def is_api_token(self) -> bool:
        return self.name.endswith("API_TOKEN")

    def applies(self, answers: dict[str, Any]) -> bool:
        return not any(answers.get(answer) == value for answer, value in self.absent_when)

    def example_for(self, answers: dict[str, Any]) -> str:
        for answer, value, example in self.example_when:
            if answers.get(answer) == value:
                return example.format(**answers)
        return self.example.format(**answers)


@dataclass(frozen=True)
class ChoiceFact:
    """A template value that follows one choice answer: Falcon's module per interface, say.

    Each layer that uses it declares the same table in its copier.yml as a `when: false`
    default, so a plain `copier copy` computes it too (tests/test_copier_layers.py checks)."""

    name: str
    answer: str
    values: tuple[tuple[str, Any], ...]  # (the answer's choice, the fact's value for it)

    def value_for(self, answers: dict[str, Any]) -> Any:
        value = dict(self.values)[answers[self.answer]]
        return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class ServerSetup:
    """What a server needs before `deploy/install.sh` when an answer has a value: Debian
    packages, the services they bring (masked in the rehearsal's machine until needed), and
    root commands ({package} and {deploy_user} filled in). deploy/README.md prints them and
    `scaffold check --systemd` runs them."""

    answer: str
    value: str
    packages: tuple[str, ...]
    services: tuple[str, ...]
    commands: tuple[str, ...]

    def applies(self, answers: dict[str, Any]) -> bool:
        return answers.get(self.answer) == self.value

    def commands_for(self, answers: dict[str, Any]) -> list[str]:
        return [command.format(**answers) for command in self.commands]


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    summary: str
    traits: tuple[str, ...]
    app_entry: str  # gunicorn's APP_MODULE; "{package}" is filled in
    # How a developer runs it locally ("{package}" filled in); `dev_command_for` puts the
    # migration first when the project has a database.
    dev_command: str
    dev_port: int  # where dev_command serves
    interface: str = "wsgi"
    interface_answer: str | None = None  # the answer that picks wsgi/asgi, when there is a choice
    static_dir: str = "{package}/static"  # served by nginx at /static/
    static_probe: str = "css/style.css"  # a file under /static/ that `check` fetches
    health_path: str = "/healthz"
    home_path: str = "/"
    # Whether it serves HTML pages: with accounts, the sign-up and sign-in pages
    # (docs/accounts.md); an API-only framework has the API's half only.
    serves_pages: bool = True
    options: tuple[Question, ...] = ()
    choice_facts: tuple[ChoiceFact, ...] = ()  # template values that follow an option's choice
    env: tuple[EnvVar, ...] = ()
    production_env: tuple[tuple[str, str], ...] = ()  # set when serving with production config
    # Run before booting and on every deploy, needing only the code (collectstatic): the
    # Dockerfile runs them while building the image, whose code is read-only when it runs.
    prepare: tuple[tuple[str, ...], ...] = ()
    # Bring the database schema to the newest migration ("{package}" filled in): run once per
    # deploy after the prepare steps (install.sh, the Procfile's release phase, a one-shot
    # container), never at import or per worker. Not run when the project has no database.
    migrate: tuple[tuple[str, ...], ...] = ()
    # Directories in the project that the prepare steps write (collectstatic's STATIC_ROOT).
    prepare_writes: tuple[str, ...] = ()
    checks: tuple[tuple[str, ...], ...] = ()  # framework checks run by `scaffold check`
    # Whether the app itself answers /static/ when nothing is in front of it (Heroku, say).
    serves_own_static: bool = True
    server_setup: tuple[ServerSetup, ...] = ()  # services to set up before the first deploy

    @property
    def questions(self) -> tuple[Question, ...]:
        return COMMON_QUESTIONS + self.options

    @property
    def interface_choices(self) -> tuple[str, ...]:
        """The values of the answer that picks the interface; empty when there is no choice."""
        if not self.interface_answer:
            return ()
        return next(q.choices for q in self.options if q.name == self.interface_answer)

    def interface_for(self, answers: dict[str, Any]) -> str:
        return answers[self.interface_answer] if self.interface_answer else self.interface

    def fill(self, text: str, answers: dict[str, Any]) -> str:
        return text.format(package=answers["package"])

    def account_probe(self, answers: dict[str, Any]) -> tuple[str, int] | None:
        """A GET that proves the accounts are served (docs/accounts.md), and its status: the
        sign-in page where there are pages, else the API's refusal of a missing token."""
        if answers.get("auth") != "accounts":
            return None
        return ("/accounts/login", 200) if self.serves_pages else ("/api/users/me", 401)

    def setup_for(self, answers: dict[str, Any]) -> list[ServerSetup]:
        return [setup for setup in self.server_setup if setup.applies(answers)]

    def migrate_for(self, answers: dict[str, Any]) -> list[tuple[str, ...]]:
        if answers.get("database", "none") == "none":
            return []
        return [tuple(self.fill(part, answers) for part in command) for command in self.migrate]

    def dev_command_for(self, answers: dict[str, Any]) -> str:
        steps = [*map(shlex.join, self.migrate_for(answers)), self.fill(self.dev_command, answers)]
        return " && ".join(steps)

    def prepare_for(self, answers: dict[str, Any]) -> list[tuple[str, ...]]:
        """Everything run before booting, in order: the code's steps, then the migration."""
        return [*self.prepare, *self.migrate_for(answers)]


# Measured in benchmarks/serving.py; see benchmarks/README.md for the ASGI worker choice.
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
DEPLOY_ENV = (
    EnvVar(
        "GUNICORN_BIND",
        "unix:/run/{package}/gunicorn.sock",
        "where gunicorn listens; systemd socket activation overrides it",
    ),
    # Never empty: gunicorn itself parses WEB_CONCURRENCY on import and fails on "".
    EnvVar(
        "WEB_CONCURRENCY",
        "3",
        "gunicorn worker processes; unset: 2 x cores + 1 for sync "
        "workers, one per core for async ones",
    ),
    EnvVar(
        "FORWARDED_ALLOW_IPS",
        "127.0.0.1,::1",
        "proxies whose X-Forwarded-* gunicorn "
        "trusts over TCP (a unix socket is guarded by its file mode); '*' on Heroku",
    ),
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
    EnvVar("SMTP_PASSWORD", "", "SMTP password", absent_when=_WITHOUT_ACCOUNTS),
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

FRAMEWORKS: tuple[Framework, ...] = (
    Framework(
        name="django",
        title="Django",
        summary=(
            "Batteries included: ORM, admin, auth, forms and migrations for database-backed sites."
        ),
        traits=("batteries-included", "orm", "admin", "content-sites", "wsgi"),
        app_entry="{package}.wsgi:application",
        dev_command="python manage.py runserver",
        dev_port=8000,
        static_dir="staticfiles",  # STATIC_ROOT, filled by collectstatic
        static_probe="css/site.css",
        options=(DJANGO_DATABASE, AUTH),
        choice_facts=(database_dependencies(DJANGO_DATABASE),),
        env=(
            EnvVar("DJANGO_SECRET_KEY", "", "signing key for sessions and tokens", secret=True),
            EnvVar(
                "DJANGO_DEBUG",
                "",
                "true/false; empty: on with dev settings, production settings are always off",
            ),
            EnvVar("DJANGO_ALLOWED_HOSTS", "{domain}", "comma-separated host names"),
            EnvVar("DJANGO_CSRF_TRUSTED_ORIGINS", "https://{domain}", "comma-separated origins"),
            database_url(),
            api_token("DJANGO_API_TOKEN"),
            *MAIL_ENV,
            EnvVar("DJANGO_LOG_LEVEL", "INFO", "logging level of the stdout log"),
        ),
        production_env=(("DJANGO_SETTINGS_MODULE", "{package}.settings.production"),),
        prepare=(("python", "manage.py", "collectstatic", "--noinput"),),
        migrate=(("python", "manage.py", "migrate", "--noinput"),),
        prepare_writes=("staticfiles",),
        checks=(
            ("python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"),
            ("python", "manage.py", "makemigrations", "--check", "--dry-run"),
        ),
        # With DEBUG off, django.contrib.staticfiles serves nothing; nginx serves STATIC_ROOT.
        serves_own_static=False,
        server_setup=(POSTGRESQL_SETUP,),
    ),
    Framework(
        name="flask",
        title="Flask",
        summary="A small core you extend: web apps and APIs where you pick your own parts.",
        traits=("microframework", "pick-your-own", "small-apps", "wsgi"),
        app_entry="{package}:create_app()",
        dev_command="flask --app {package} run --debug",
        dev_port=5000,
        options=(DATABASE, AUTH),
        choice_facts=(database_dependencies(DATABASE),),
        env=(
            EnvVar("FLASK_SECRET_KEY", "", "signs the session cookie", secret=True),
            database_url(),
            api_token("FLASK_API_TOKEN"),
            *MAIL_ENV,
            EnvVar("FLASK_LOG_LEVEL", "INFO", "logging level"),
        ),
        migrate=(("flask", "--app", "{package}", "db", "upgrade"),),
        server_setup=(POSTGRESQL_SETUP,),
    ),
    Framework(
        name="fastapi",
        title="FastAPI",
        summary="Typed async APIs: validation from type hints, dependency injection, OpenAPI docs.",
        traits=("async", "typed", "openapi", "json-api", "asgi"),
        app_entry="{package}.main:app",
        # uvicorn is in the dev extra; `fastapi dev` would need all of fastapi[standard].
        dev_command="uvicorn {package}.main:app --reload",
        dev_port=8000,
        interface="asgi",
        static_dir="{package}/static",
        static_probe="robots.txt",
        serves_pages=False,
        options=(DATABASE, AUTH),
        choice_facts=(database_dependencies(DATABASE),),
        env=(
            EnvVar("APP_LOG_LEVEL", "INFO", "logging level: DEBUG, INFO, WARNING, ERROR"),
            database_url(),
            api_token("APP_API_TOKEN"),
            TOKEN_SECRET,
            *MAIL_ENV,
            EnvVar(
                "APP_MAX_PAGE_SIZE",
                "100",
                "most items one list request returns (at most 100)",
                absent_when=(("database", "none"),),
            ),
        ),
        migrate=(("alembic", "upgrade", "head"),),
        server_setup=(POSTGRESQL_SETUP,),
    ),
    Framework(
        name="falcon",
        title="Falcon",
        summary="Fast, reliable REST microservices: resources, responders, hooks and middleware.",
        traits=("fast", "rest", "microservices", "minimal", "wsgi-or-asgi"),
        app_entry="{package}.app:create_app()",
        # The production config picks the worker class for either interface and reads .env.
        dev_command="gunicorn -c deploy/gunicorn.conf.py --reload -w 1 -b 127.0.0.1:8000",
        dev_port=8000,
        interface_answer="interface",
        static_probe="robots.txt",
        serves_pages=False,
        options=(
            Question(
                "interface",
                "Serve as WSGI (sync) or ASGI (async)",
                "wsgi",
                type="choice",
                choices=("wsgi", "asgi"),
            ),
            DATABASE,
            AUTH,
        ),
        choice_facts=(
            # Where App, Request and Response come from: Falcon has one module per interface.
            ChoiceFact("falcon_module", "interface", (("wsgi", "falcon"), ("asgi", "falcon.asgi"))),
            database_dependencies(DATABASE),
        ),
        env=(
            EnvVar("APP_LOG_LEVEL", "INFO", "logging level"),
            database_url(),
            api_token("APP_API_TOKEN"),
            TOKEN_SECRET,
            *MAIL_ENV,
        ),
        migrate=(("alembic", "upgrade", "head"),),
        server_setup=(POSTGRESQL_SETUP,),
    ),
    Framework(
        name="pyramid",
        title="Pyramid",
        summary="Start small, finish big: a flexible, modular framework that grows with the app.",
        traits=("flexible", "modular", "pluggable", "templates-choice", "wsgi"),
        app_entry="{package}.wsgi:application",
        dev_command="pserve development.ini --reload",
        dev_port=6543,
        options=(
            Question(
                "template_language",
                "Page template engine",
                "jinja2",
                type="choice",
                choices=("jinja2", "chameleon", "mako"),
            ),
            DATABASE,
            AUTH,
        ),
        choice_facts=(
            # The file extension each renderer binding registers for its page templates.
            ChoiceFact(
                "template_extension",
                "template_language",
                (("jinja2", "jinja2"), ("chameleon", "pt"), ("mako", "mako")),
            ),
            # The binding, config.include()d as pyramid_<language>, and its tested minimum.
            ChoiceFact(
                "renderer_dependency",
                "template_language",
                (
                    ("jinja2", "pyramid_jinja2>=2.10"),
                    ("chameleon", "pyramid_chameleon>=0.3"),
                    ("mako", "pyramid_mako>=1.1"),
                ),
            ),
            database_dependencies(DATABASE),
        ),
        env=(
            EnvVar("SESSION_SECRET", "", "signs the session cookie", secret=True),
            database_url("; it replaces sqlalchemy.url from the ini file"),
            api_token("PYRAMID_API_TOKEN"),
            *MAIL_ENV,
        ),
        # The ini file's [alembic] section; sqlalchemy.url is DATABASE_URL when it is set.
        migrate=(("alembic", "-c", "production.ini", "upgrade", "head"),),
        server_setup=(POSTGRESQL_SETUP,),
    ),
)


@dataclass(frozen=True)
class EnvChange:
    """A variable of .env.example whose value or presence follows answers that changed."""

    name: str
    old: str | None  # None: the variable is new
    new: str | None  # None: the project no longer reads it
    secret: bool


def env_changes(framework: Framework, old: dict[str, Any], new: dict[str, Any]) -> list[EnvChange]:
    """What a user must change in the untracked .env after the answers went from old to new."""
    changes = []
    for var in framework.env + DEPLOY_ENV:
        before = var.example_for(old) if var.applies(old) else None
        after = var.example_for(new) if var.applies(new) else None
        if before != after and not (var.secret and before is not None and after is not None):
            changes.append(EnvChange(var.name, before, after, var.secret))
    return changes


def names() -> tuple[str, ...]:
    return tuple(fw.name for fw in FRAMEWORKS)


def get(name: str) -> Framework:
    for framework in FRAMEWORKS:
        if framework.name == name:
            return framework
    raise BadInput(f"unknown framework {name!r}", f"choose one of: {', '.join(names())}")


def template_data(framework: Framework, answers: dict[str, Any]) -> dict[str, Any]:
    """Everything the layers render with: the answers plus the catalog's framework facts.

    Templates only print these; each layer's copier.yml declares the ones it uses as `when:
    false` defaults computing the same value, so `copier copy` on one layer agrees."""
    interface = framework.interface_for(answers)
    env_vars = [
        {
            "name": var.name,
            # A secret's value is generated into the untracked .env, never shown as an example.
            "example": "" if var.secret else var.example_for(answers),
            "help": var.help,
            "secret": var.secret,
        }
        for var in framework.env + DEPLOY_ENV
        if var.applies(answers)
    ]
    return {
        **answers,
        "framework": framework.name,
        "framework_title": framework.title,
        "interface": interface,
        "worker_class": WORKER_CLASSES[interface],
        "server_dependencies": list(SERVER_DEPENDENCIES[interface]),
        "app_entry": framework.fill(framework.app_entry, answers),
        "dev_command": framework.dev_command_for(answers),
        "static_dir": framework.fill(framework.static_dir, answers),
        "health_path": framework.health_path,
        "image_build_commands": [shlex.join(command) for command in framework.prepare],
        # The Procfile's release phase and the container's one-shot job run these.
        "migrate_commands": [shlex.join(command) for command in framework.migrate_for(answers)],
        # deploy/install.sh runs these in the venv, as the service user; `python` is the venv's.
        "prepare_commands": [shlex.join(command) for command in framework.prepare_for(answers)],
        "prepare_writes": list(framework.prepare_writes),
        "app_serves_static": framework.serves_own_static,
        "server_packages": [p for setup in framework.setup_for(answers) for p in setup.packages],
        "server_setup": [
            c for setup in framework.setup_for(answers) for c in setup.commands_for(answers)
        ],
        "env_vars": env_vars,
        # The bearer token the /api/items writes need; "" when there is no such API.
        "api_token": next(
            (v.name for v in framework.env if v.secret and v.applies(answers) and v.is_api_token),
            "",
        ),
        "dev_port": framework.dev_port,
        # /accounts/... pages: a framework that serves pages, with accounts.
        "account_pages": framework.serves_pages and answers.get("auth") == "accounts",
        "production_env": [(k, framework.fill(v, answers)) for k, v in framework.production_env],
        "distribution_name": answers["package"].replace("_", "-"),  # pip's name for the package
        "python_tag": "py" + answers["python_version"].replace(".", ""),  # ruff's target-version
        **ASYNC_WORDS[interface],
        **{fact.name: fact.value_for(answers) for fact in framework.choice_facts},
    }
