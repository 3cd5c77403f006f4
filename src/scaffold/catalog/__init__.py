"""The frameworks scaffold knows, as data. Templates, checks and the recommender read this.

One module per framework holds its entry (`FRAMEWORK`); `model` has the shapes of the facts and
`shared` the facts several frameworks share."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from scaffold.catalog import (
    aiohttp,
    bottle,
    cherrypy,
    django,
    falcon,
    fastapi,
    flask,
    pyramid,
    sanic,
    starlette,
    tornado,
    turbogears,
)
from scaffold.catalog.model import ChoiceFact, EnvVar, Framework, Server, ServerSetup
from scaffold.catalog.shared import (
    ASYNC_WORDS,
    DEPLOY_ENV,
    DRIVERS,
    GUNICORN,
    GUNICORN_HOOK_ARGUMENTS,
    SERVER_DEPENDENCIES,
    WORKER_CLASSES,
)
from scaffold.errors import BadInput

__all__ = [
    "ASYNC_WORDS",
    "DEPLOY_ENV",
    "DRIVERS",
    "FRAMEWORKS",
    "GUNICORN",
    "SERVER_DEPENDENCIES",
    "WORKER_CLASSES",
    "ChoiceFact",
    "EnvChange",
    "EnvVar",
    "Framework",
    "Server",
    "ServerSetup",
    "env_changes",
    "get",
    "names",
    "server_of",
    "template_data",
]

FRAMEWORKS: tuple[Framework, ...] = (
    django.FRAMEWORK,
    flask.FRAMEWORK,
    fastapi.FRAMEWORK,
    falcon.FRAMEWORK,
    pyramid.FRAMEWORK,
    starlette.FRAMEWORK,
    tornado.FRAMEWORK,
    sanic.FRAMEWORK,
    aiohttp.FRAMEWORK,
    bottle.FRAMEWORK,
    cherrypy.FRAMEWORK,
    turbogears.FRAMEWORK,
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
    for var in framework.env + server_of(framework).env:
        before = var.example_for(old) if var.applies(old) else None
        after = var.example_for(new) if var.applies(new) else None
        if before != after and not (var.secret and before is not None and after is not None):
            changes.append(EnvChange(var.name, before, after, var.secret))
    return changes


def server_of(framework: Framework) -> Server:
    """What serves the framework's app in production: its own server, or gunicorn."""
    return framework.server or GUNICORN


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
    server = server_of(framework)
    env_vars = [
        {
            "name": var.name,
            # A secret's value is generated into the untracked .env, never shown as an example.
            "example": "" if var.secret else var.example_for(answers),
            "help": var.help,
            "secret": var.secret,
            # deploy/kubernetes/: the pod's value, and whether it goes into the Secret.
            "cluster_value": (
                var.example_for(answers)
                if var.cluster_value is None
                else var.cluster_value.format(**answers)
            ),
            "cluster_secret": var.secret or var.cluster_secret,
        }
        for var in framework.env + server_of(framework).env
        if var.applies(answers)
    ]
    return {
        **answers,
        "framework": framework.name,
        "framework_title": framework.title,
        "interface": interface,
        "worker_class": framework.fill(framework.worker_class, answers)
        or WORKER_CLASSES.get(interface, ""),
        "server": server.name,
        "server_title": server.title,
        "server_command": server.command_for(answers),
        "server_bind_env": server.bind_env,
        "server_bind_flag": server.bind_flag,
        "server_notifies": server.notifies,
        "server_reloads": server.reloads,
        "socket_name": server.socket_name,
        "server_container_command": [
            *server.argv_for(answers),
            server.bind_flag,
            "0.0.0.0:8000",
            *server.container_args,
        ],
        "server_container_args": list(server.container_args),
        # The command as `python ARGS` with the venv's interpreter (the generated boot test).
        "server_program": server.command[0],
        "server_python_args": (
            server.argv_for(answers)[1:]
            if server.command[0] == "python"
            else ["-m", *server.argv_for(answers)]
        ),
        "server_dependencies": list(server.dependencies_for(interface)),
        # deploy/kubernetes/: its tests validate each manifest against Kubernetes' schema, offline.
        "deploy_dev_dependencies": (
            ["kubernetes-validate>=1.33", "types-PyYAML>=6.0"] if answers.get("kubernetes") else []
        ),
        # (hook, module, function): gunicorn.conf.py imports each only when its hook runs.
        "gunicorn_hooks": [
            [hook, *framework.fill(target, answers).split(":"), list(GUNICORN_HOOK_ARGUMENTS[hook])]
            for hook, target in framework.gunicorn_hooks
        ],
        "access_log_format": framework.access_log_format,
        # deploy/ansible/: several app machines share one database; a SQLite file lives on one.
        "multi_host": answers.get("database", "none") != "sqlite",
        # Kubernetes object names are DNS labels: no underscores.
        "kubernetes_name": answers["package"].replace("_", "-").strip("-"),
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
        **ASYNC_WORDS.get(interface, {}),
        **{fact.name: fact.value_for(answers) for fact in framework.choice_facts},
    }
