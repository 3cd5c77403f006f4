"""The generated Dockerfile: linted by hadolint, then built and run the way Docker would, as far
as a machine without a Docker engine allows.

The rehearsal reads the Dockerfile and carries out its instructions itself: the build context
filtered by .dockerignore, every RUN as root with the stage's ENV in a chroot whose root is the
stage's own layer, COPY --from between layers. The base image stands in for python:*-slim: this
machine's /usr read-only, its /etc under the stage's own changes, and the interpreter running
the tests as /usr/local/bin/python.
Then the final layer runs as a container does: read-only, its VOLUME the one writable place,
tmpfs /tmp and /dev/shm, its own network namespace, the USER's numeric uid and gid with no
groups, only the image's ENV plus the project's .env (`docker run --env-file .env`). The
HEALTHCHECK command decides when it is up."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scaffold import catalog
from scaffold.questions import resolve_answers
from tests.conftest import available_frameworks, generate

HADOLINT = Path(sys.executable).with_name("hadolint")
BASE_PREFIX = Path(sys.base_prefix)
# What the python:*-slim images set before the Dockerfile's own ENV.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}
# Files a developer's checkout has that must not reach the image.
LOCAL_ONLY = (
    ".env.production",
    "db.sqlite3",
    "items.sqlite3-journal",
    ".venv/bin/python",
    ".pytest_cache/README.md",
    ".coverage",
    "{package}/__pycache__/x.cpython-311.pyc",
)
CASES = [(name, ()) for name in available_frameworks()] + [("falcon", ("interface=asgi",))]


# --- The Dockerfile, read ---


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def instructions_of(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: comments dropped, continuation lines joined."""
    logical = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    return [
        (keyword.upper(), rest.strip())
        for keyword, _, rest in (line.strip().partition(" ") for line in logical.splitlines())
        if keyword
    ]


def stages_of(text: str) -> tuple[dict[str, str], list[Stage]]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in instructions_of(text):
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            image, _, name = rest.partition(" AS ")
            stages.append(Stage(name.strip() or str(len(stages)), [("FROM", image.strip())]))
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)


def dockerignored(rel: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins, a leading ! re-includes, a pattern that
    matches a directory excludes what is inside it."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate, pattern = pattern.startswith("!"), pattern.lstrip("!")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


# --- The Dockerfile, carried out ---


def system_mounts(root: Path, *, read_only_root: bool) -> list[str]:
    """Shell lines that make root look like the base image; run inside `unshare --mount`."""
    q = shlex.quote
    lines = ["mount --make-rprivate /", f"mount --bind {q(str(root))} {q(str(root))}"]
    lines += [f"mount --rbind /usr {q(str(root / 'usr'))}"]
    lines += [f"mount -o remount,bind,ro {q(str(root / 'usr'))}"]
    # /etc is the host's under the stage's own changes (a RUN may add a user, say).
    etc = etc_layer(root)
    if read_only_root:
        lines += [f"mount -t overlay overlay -o lowerdir={etc}/upper:/etc {q(str(root / 'etc'))}"]
    else:
        options = f"lowerdir=/etc,upperdir={etc}/upper,workdir={etc}/work"
        lines += [f"mount -t overlay overlay -o {options} {q(str(root / 'etc'))}"]
    # The interpreter's own prefix as /usr/local, as python:*-slim installs it (and at its
    # original path too, where its shared library's run path points).
    local = q(str(root / "usr/local"))
    lines += [f"mount --bind {q(str(BASE_PREFIX))} {local}", f"mount -o remount,bind,ro {local}"]
    lines += [
        f"mount --bind {q(str(BASE_PREFIX))} {q(str(root) + str(BASE_PREFIX))}",
        f"mount -o remount,bind,ro {q(str(root) + str(BASE_PREFIX))}",
        f"mount --rbind /dev {q(str(root / 'dev'))}",
        f"mount -t tmpfs tmpfs {q(str(root / 'dev/shm'))}",
        f"mount -t proc proc {q(str(root / 'proc'))}",
    ]
    if read_only_root:
        lines += [f"mount -t tmpfs tmpfs {q(str(root / 'tmp'))}"]
        lines += [f"mount -o remount,bind,ro {q(str(root))}"]
    return lines


def etc_layer(root: Path) -> Path:
    """Where a stage keeps its changes to /etc: beside its root, never inside the image."""
    return root.with_name(root.name + ".etc")


def prepare_root(root: Path) -> None:
    """The mount points and merged-/usr links of a Debian root."""
    for name in ("upper", "work"):
        (etc_layer(root) / name).mkdir(parents=True, exist_ok=True)
    for name in ("usr", "etc", "dev", "proc", "tmp", "root"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / str(BASE_PREFIX).lstrip("/")).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    for name in ("bin", "sbin", "lib", "lib64"):
        if not (root / name).is_symlink():
            (root / name).symlink_to(f"usr/{name}")


def chroot_command(root: Path, argv: list[str], env: dict[str, str], cwd: str, user: str) -> str:
    uid, _, gid = user.partition(":")
    drop = ["setpriv", f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups"] if user else []
    pairs = [f"{key}={value}" for key, value in env.items()]
    return shlex.join(["chroot", str(root), *drop, "env", "-i", "-C", cwd, *pairs, *argv])


@dataclass
class Image:
    """The final stage's layer, and what the Dockerfile says about running it."""

    root: Path
    env: dict[str, str]
    workdir: str
    user: str
    volumes: list[str]
    healthcheck: list[str]
    cmd: list[str]
    base: str


def build(project: Path, layers: Path) -> Image:
    args, stages = stages_of((project / "Dockerfile").read_text())
    patterns = [
        line.strip()
        for line in (project / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    context = [
        path
        for path in sorted(project.rglob("*"))
        if path.is_file() and not dockerignored(str(path.relative_to(project)), patterns)
    ]
    roots: dict[str, Path] = {}
    for stage in stages:
        root = roots[stage.name] = layers / stage.name
        prepare_root(root)
        env, workdir, user, volumes, healthcheck, cmd = dict(BASE_ENV), "/", "", [], [], []
        for keyword, rest in stage.instructions:
            if keyword == "FROM":
                base = expand(rest, args)
            elif keyword == "ENV":
                for pair in shlex.split(rest):
                    name, _, value = pair.partition("=")
                    env[name] = expand(value, env)
            elif keyword == "WORKDIR":
                workdir = os.path.join(workdir, rest)
                (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY":
                copy(rest, context, project, roots, root, workdir)
            elif keyword == "RUN":
                script = [*system_mounts(root, read_only_root=False)]
                run_env = {**env, "HOME": "/root"}  # as Docker sets for root
                script.append(chroot_command(root, ["sh", "-c", rest], run_env, workdir, user))
                done = subprocess.run(
                    ["unshare", "--mount", "--pid", "--fork", "sh", "-ec", "\n".join(script)],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                assert done.returncode == 0, (
                    f"RUN {rest}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
                )
            elif keyword == "USER":
                user = rest
            elif keyword == "VOLUME":
                volumes += rest.split()
            elif keyword == "HEALTHCHECK":
                healthcheck = json.loads(rest.partition("CMD ")[2])
            elif keyword == "CMD":
                cmd = json.loads(rest)
            else:
                assert keyword == "EXPOSE", f"the rehearsal does not know {keyword}"
    return Image(root, env, workdir, user, volumes, healthcheck, cmd, base)


def copy(
    rest: str, context: list[Path], project: Path, roots: dict[str, Path], root: Path, workdir: str
) -> None:
    words = rest.split()
    source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
    source, dest = [w for w in words if not w.startswith("--")]
    target = root / os.path.join(workdir, dest).lstrip("/")
    if source_stage is None:
        for path in context:
            rel = path.relative_to(project)
            if source == "." or str(rel) == source:
                out = target / (rel if source == "." else rel.name)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)
    else:
        shutil.copytree(
            roots[source_stage] / source.lstrip("/"), target, symlinks=True, dirs_exist_ok=True
        )


# The container's own process: release steps, CMD in the background, HEALTHCHECK until it
# passes, probes of the home page, then SIGTERM as `docker stop` sends.
PROBE = """
import json, sys, urllib.error, urllib.request
results = {}
for path in sys.argv[2:]:
    # As the TLS proxy in front sends it: the site's host name, and the scheme it served.
    headers = {"Host": sys.argv[1], "X-Forwarded-Proto": "https"}
    request = urllib.request.Request("http://127.0.0.1:8000" + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            results[path] = response.status
    except urllib.error.HTTPError as error:
        results[path] = error.code
print("PROBES " + json.dumps(results))
"""


# An image without a HEALTHCHECK (a failure of its own) is waited for this way.
WAIT_WITHOUT_HEALTHCHECK = [
    "python",
    "-c",
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)",
]


def run_container(
    image: Image,
    env_file: dict[str, str],
    release: list[str],
    probes: list[str],
    domain: str,
    log: Path,
) -> str:
    volume_lines = []
    for volume in image.volumes:  # a fresh named volume starts as a copy of the image's folder
        source = image.root / volume.lstrip("/")
        data = log.parent / ("volume" + volume.replace("/", "_"))
        shutil.copytree(source, data, symlinks=True)
        os.chown(data, source.stat().st_uid, source.stat().st_gid)
        volume_lines.append(f"mount --bind {shlex.quote(str(data))} {shlex.quote(str(source))}")
    env = {**image.env, **env_file, "HOME": "/", "HOSTNAME": "rehearsal"}

    def inside(argv: list[str]) -> str:
        return chroot_command(image.root, argv, env, image.workdir, image.user)

    script = [
        *system_mounts(image.root, read_only_root=True),
        *volume_lines,
        "ip link set lo up",
        *[inside(shlex.split(step)) for step in release],
        f"{inside(image.cmd)} > {shlex.quote(str(log))} 2>&1 &",
        "server=$!",
        "up=no",
        "for i in $(seq 120); do",
        f"  if {inside(image.healthcheck or WAIT_WITHOUT_HEALTHCHECK)} 2>/dev/null; then",
        "    up=yes; break",
        "  fi",
        "  kill -0 $server 2>/dev/null || break",
        "  sleep 0.5",
        "done",
        'echo "HEALTHY $up"',
        inside(["python", "-c", PROBE, domain, *probes]),
        *[f"find {shlex.quote(str(image.root / v.lstrip('/')))} -type f" for v in image.volumes],
        "kill -TERM $server",
        'wait $server && echo "STOPPED 0" || echo "STOPPED $?"',
    ]
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "sh",
            "-ec",
            "\n".join(script),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout + done.stderr


def docker_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as `docker run --env-file` reads them: no quotes removed, # comments."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value
    return pairs


# --- The tests ---


def render(tmp_path: Path, framework: str, data: tuple[str, ...]) -> Path:
    return generate(tmp_path / "bookshop", framework, "docker=true", *data)


def test_the_image_build_runs_the_prepare_steps_and_never_the_migration(tmp_path: Path) -> None:
    """The Dockerfile runs the prepare steps at build; the migration runs against the volume,
    as the one-shot release container deploy/README.md shows."""
    for fw in catalog.FRAMEWORKS:
        answers = resolve_answers(fw.questions, {"package": "bookshop"})
        facts = catalog.template_data(fw, answers)
        assert facts["migrate_commands"], fw.name  # every framework's default has a database
        assert not set(facts["migrate_commands"]) & set(facts["image_build_commands"]), fw.name
        project = render(tmp_path / fw.name, fw.name, ())
        readme = (project / "deploy/README.md").read_text()
        dockerfile = (project / "Dockerfile").read_text()
        for command in facts["migrate_commands"]:
            assert f"bookshop {command}\n" in readme, (fw.name, command)
            assert command not in dockerfile, (fw.name, command)
        procfile = (project / "Procfile").read_text()
        assert f"release: {' && '.join(facts['migrate_commands'])}\n" in procfile, fw.name


def test_only_when_asked(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain", "flask")
    assert not (plain / "Dockerfile").exists() and not (plain / ".dockerignore").exists()
    assert "Docker" in (render(tmp_path, "flask", ()) / "deploy/README.md").read_text()


@pytest.mark.parametrize(("framework", "data"), CASES)
def test_hadolint_finds_nothing(tmp_path: Path, framework: str, data: tuple[str, ...]) -> None:
    """Every rule at every level, info and style included."""
    project = render(tmp_path, framework, data)
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "style", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


@pytest.mark.parametrize(("framework", "data"), CASES)
def test_dockerfile_layers_in_the_order_that_caches(
    tmp_path: Path, framework: str, data: tuple[str, ...]
) -> None:
    project = render(tmp_path, framework, data)
    args, (build_stage, final) = stages_of((project / "Dockerfile").read_text())
    image = expand(final.instructions[0][1], args)
    assert re.fullmatch(r"python:3\.\d+-slim-bookworm", image), image  # no floating Debian
    steps = [f"{keyword} {rest}" for keyword, rest in build_stage.instructions]
    requirements = steps.index("COPY pyproject.toml ./")
    install_deps = next(i for i, s in enumerate(steps) if "pip install -r" in s)
    assert requirements < install_deps < steps.index("COPY . .")
    assert not any("[dev]" in step for step in steps)
    users = [rest for keyword, rest in final.instructions if keyword == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), users
    assert any(keyword == "HEALTHCHECK" for keyword, _ in final.instructions)


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "data"), CASES)
def test_the_image_runs_as_a_container(
    tmp_path: Path, framework: str, data: tuple[str, ...]
) -> None:
    """Built from a checkout with local files in it; run with the project's .env, after the
    release steps the image cannot run at build time (Django's migrate)."""
    fw = catalog.get(framework)
    project = render(tmp_path, framework, data)
    answers = {"package": "bookshop", **dict(d.split("=") for d in data)}
    facts = catalog.template_data(fw, resolve_answers(fw.questions, answers))
    for rel in LOCAL_ONLY:
        path = project / rel.format(package="bookshop")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("local only\n")
    image = build(project, tmp_path / "layers")
    app = image.root / "app"
    problems = [
        f"the image holds {rel}"
        for rel in (*LOCAL_ONLY, ".env", ".git", "tests")
        if (app / rel.format(package="bookshop")).exists()
    ]
    # nginx (or any proxy in front) serves /static/ from this folder of the image.
    for name in (fw.static_probe, "favicon.svg"):
        if not (app / facts["static_dir"] / name).is_file():
            problems.append(f"no {facts['static_dir']}/{name} in the image")
    release = facts["migrate_commands"]  # deploy/README.md's one-shot container
    log = tmp_path / "gunicorn.log"
    env_file = docker_env_file(project / ".env")
    paths = [fw.health_path, fw.home_path]
    out = run_container(image, env_file, release, paths, facts["domain"], log)
    if not image.healthcheck:
        problems.append("no HEALTHCHECK")
    if not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", image.user):
        problems.append(f"USER {image.user or 'root'} is not a non-root number")
    if "HEALTHY yes" not in out:
        problems.append("the HEALTHCHECK never passed")
    probes = out.split("PROBES ", 1)[-1].splitlines()[0] if "PROBES " in out else "{}"
    if json.loads(probes) != dict.fromkeys(paths, 200):
        problems.append(f"answers {probes}")
    if "STOPPED 0" not in out:
        problems.append("gunicorn did not stop cleanly on SIGTERM")
    gunicorn = log.read_text() if log.exists() else ""
    assert problems == [], f"{out[-3000:]}\n--- gunicorn ---\n{gunicorn[-3000:]}"
