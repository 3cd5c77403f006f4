"""The shapes of the catalog's facts: a framework, its environment variables, the values that
follow its choices, what its server needs set up."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

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
    # Its value in a Kubernetes pod, where the example does not fit (deploy/kubernetes/).
    cluster_value: str | None = None
    # Whether Kubernetes keeps it in the Secret though it is not generated (a URL's password).
    cluster_secret: bool = False

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
class Server:
    """The program that serves the app in production, behind the same systemd socket, hardened
    unit and nginx site: gunicorn for most frameworks, or the framework's own server where
    that is how its users run it in production (Sanic's, Tornado's)."""

    name: str  # the socket's and runtime directory's name: /run/<package>/<name>.sock
    title: str
    # Run from the project root with the venv's programs ("{package}" filled in); it takes the
    # socket from systemd (LISTEN_FDS), else the address in bind_env, else bind_flag's value.
    command: tuple[str, ...]
    bind_env: str  # unix:PATH or HOST:PORT
    env: tuple[EnvVar, ...]  # the deploy variables it reads, listed in .env.example
    bind_flag: str = "--bind"  # how the Procfile and the container say HOST:PORT
    # Whether it tells systemd when it is ready (Type=notify); else the unit is Type=exec and
    # the socket holds connections until it accepts them.
    notifies: bool = True
    # Whether SIGHUP swaps in new workers with the new code without dropping a request; else
    # a deploy restarts the service, and the socket queues requests meanwhile.
    reloads: bool = True
    # The packages it needs per interface; an own server comes with the framework.
    dependencies: tuple[tuple[str, tuple[str, ...]], ...] = ()
    container_args: tuple[str, ...] = ()  # what the container's command adds

    @property
    def socket_name(self) -> str:
        return f"{self.name}.sock"

    def dependencies_for(self, interface: str) -> tuple[str, ...]:
        return dict(self.dependencies).get(interface, ())

    def argv_for(self, answers: dict[str, Any]) -> list[str]:
        return [part.format(package=answers["package"]) for part in self.command]

    def command_for(self, answers: dict[str, Any]) -> str:
        return shlex.join(self.argv_for(answers))


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
    server: Server | None = None  # None: gunicorn (shared.GUNICORN)
    # gunicorn's worker class when the interface's default (shared.WORKER_CLASSES) is not it,
    # such as a subclass of aiohttp's own worker; "{package}" is filled in.
    worker_class: str = ""
    # gunicorn server hooks the app needs, as (hook, "module:function") with "{package}" filled
    # in: gunicorn.conf.py imports the function only when the hook runs, in the worker.
    gunicorn_hooks: tuple[tuple[str, str], ...] = ()
    # The access log format when the worker reads its own (aiohttp's %-codes), not gunicorn's.
    access_log_format: str = ""

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
