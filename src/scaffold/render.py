"""Render the layers (base -> framework -> deploy) into a directory, deterministically.

Each layer is a Copier template (copier.yml + `template/`), and `copier copy` renders it to the
same bytes (tests/test_render.py holds that promise). scaffold renders them itself with Jinja
because importing copier alone costs ~0.7 s, more than `django-admin startproject` in total.

The shipped templates do not even need Jinja: `scaffold.template_compiler` translated them
into plain Python functions (`_precompiled_templates.py`, looked up by the exact template
text), which render the same bytes without importing jinja2 or compiling anything. Any text
not found there, or whose function raises, is rendered by Jinja as before; likewise a
copier.yml's settings come precomputed for its exact text, else from yaml.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from scaffold import __version__, catalog
from scaffold.errors import OperationFailed
from scaffold.project import RECORD_FILE, Record


def templates_root() -> Path:
    """Where layers are read from: $SCAFFOLD_TEMPLATES, else the copy shipped in the package."""
    override = os.environ.get("SCAFFOLD_TEMPLATES")
    if override:
        root = Path(override)
        if not (root / "base").is_dir():
            raise OperationFailed(
                f"SCAFFOLD_TEMPLATES={override} has no base/ layer",
                "point it at a copy of scaffold's templates/ folder",
            )
        return root
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"


def templates_source(layers: tuple[str, ...]) -> str:
    """Where renders come from, for the template branch's commits: the installed scaffold, or
    the SCAFFOLD_TEMPLATES folder with a hash of the layers rendered (a template author's
    edits)."""
    if not os.environ.get("SCAFFOLD_TEMPLATES"):
        return f"scaffold {__version__}"
    root = templates_root().resolve()
    return f"{root} sha256:{_contents_hash(root, layers)}"


@cache
def _contents_hash(root: Path, layers: tuple[str, ...]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for layer in layers:
        for folder, directories, files in os.walk(root / layer):
            directories[:] = sorted(name for name in directories if name != "__pycache__")
            for name in sorted(files):
                path = Path(folder, name)
                relative = path.relative_to(root).as_posix()
                digest.update(f"{relative}\0".encode(errors="surrogateescape"))
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def source_origin(source: str) -> str:
    """The place a templates_source() names, without the hash of what it held then."""
    return source.split(" sha256:")[0]


def layer_names(framework: str) -> tuple[str, ...]:
    return ("base", framework, "deploy")


@dataclass(frozen=True)
class LayerConfig:
    root: Path  # the folder whose contents become the project
    suffix: str
    exclude: tuple[str, ...]

    @classmethod
    def read(cls, layer_dir: Path) -> LayerConfig:
        config_file = layer_dir / "copier.yml"
        if not config_file.is_file():
            raise OperationFailed(
                f"{layer_dir} is not a layer (no copier.yml)",
                "check SCAFFOLD_TEMPLATES or reinstall scaffold",
            )
        text = config_file.read_text(encoding="utf-8")
        known = _precompiled()[1].get(text)
        if known is not None:
            subdirectory, suffix, exclude = known
            return cls(root=layer_dir / subdirectory, suffix=suffix, exclude=exclude)
        import yaml

        try:
            config = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            config = error
        if not isinstance(config, dict):
            raise OperationFailed(
                f"{config_file} is not a YAML mapping of Copier settings",
                "fix it, or point SCAFFOLD_TEMPLATES at a copy of scaffold's templates/",
            )
        return cls(
            root=layer_dir / config.get("_subdirectory", ""),
            suffix=config.get("_templates_suffix", ".jinja"),
            exclude=tuple(config.get("_exclude", ())),
        )


@cache
def _jinja_env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # Copier's settings (keep_trailing_newline, sandbox), but strict: a typo must fail loudly.
    return SandboxedEnvironment(keep_trailing_newline=True, undefined=StrictUndefined)


_Precompiled = tuple[
    Mapping[str, Callable[[Mapping[str, Any]], str]],
    Mapping[str, tuple[str, str, tuple[str, ...]]],
]


@cache
def _precompiled() -> _Precompiled:
    """The translated templates and layer settings, or nothing (then Jinja and yaml do it)."""
    try:
        from scaffold._precompiled_templates import LAYERS, TEMPLATES
    except ImportError:
        return {}, {}
    return TEMPLATES, LAYERS


def _render_string(text: str, data: Mapping[str, Any], where: str) -> str:
    function = _precompiled()[0].get(text)
    if function is not None:
        try:
            return function(data)
        except Exception:  # noqa: S110 - Jinja renders it, or says what is wrong
            pass
    from jinja2 import TemplateError

    try:
        return str(_jinja_env().from_string(text).render(**data))
    except TemplateError as error:
        raise OperationFailed(
            f"template {where} failed to render: {error}",
            "fix the template or report a scaffold bug",
        ) from error


def _source_files(config: LayerConfig) -> Iterator[tuple[Path, set[str]]]:
    """Each file to render, relative to the layer's root, with every name in its folder."""
    for dirpath, dirnames, filenames in os.walk(config.root):
        rel_dir = Path(dirpath).relative_to(config.root)
        names = {*dirnames, *filenames}
        dirnames[:] = sorted(d for d in dirnames if not _excluded(rel_dir / d, config.exclude))
        for name in sorted(filenames):
            if not _excluded(rel_dir / name, config.exclude):
                yield rel_dir / name, names


def _excluded(rel: Path, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(part, pat) for part in rel.parts for pat in patterns)


def _target_path(rel: Path, config: LayerConfig, data: Mapping[str, Any], layer: str) -> str | None:
    """Render each path part; an empty part drops the file (Copier's conditional files)."""
    parts = []
    for part in rel.parts:
        rendered = _render_string(part, data, f"{layer}/{rel}") if "{" in part else part
        if not rendered:
            return None
        if rendered in (".", "..") or "/" in rendered or "\\" in rendered or "\0" in rendered:
            raise OperationFailed(
                f"template path {layer}/{rel} renders outside the project",
                "answers must not contain path separators",
            )
        parts.append(rendered)
    name = parts[-1]
    if rel.name.endswith(config.suffix):
        parts[-1] = name[: -len(config.suffix)]
        if not parts[-1]:
            return None  # `{% if x %}name{% endif %}.jinja`: Copier drops it when x is false
    return "/".join(parts)


def _write(path: Path, content: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fchmod(descriptor, mode)
    finally:
        os.close(descriptor)


def render_layer(
    layer_dir: Path,
    data: Mapping[str, Any],
    dest: Path,
    owners: dict[str, str] | None = None,
    written_file: Callable[[str], None] | None = None,
) -> list[str]:
    """Render one layer into dest; return the relative paths written, sorted.

    `owners` maps files already written by earlier layers to their layer; writing one of them
    again is a template bug, so it fails instead of overwriting. `written_file` is told each
    relative path as soon as the file is complete (new stages it while the rest renders).
    """
    config = LayerConfig.read(layer_dir)
    layer = layer_dir.name
    owners = {} if owners is None else owners
    written = []
    folders: set[Path] = set()
    for rel, siblings in _source_files(config):
        source = config.root / rel
        is_template = rel.name.endswith(config.suffix)
        if not is_template and rel.name + config.suffix in siblings:
            continue  # Copier prefers the templated sibling
        target = _target_path(rel, config, data, layer)
        if target is None:
            continue
        if target in owners:
            raise OperationFailed(
                f"layer {layer} would overwrite {target} from {owners[target]}",
                "a later layer must not write an earlier layer's file",
            )
        if is_template:
            text = source.read_text(encoding="utf-8")
            content = _render_string(text, data, f"{layer}/{rel}").encode("utf-8")
        else:
            content = source.read_bytes()
        out = dest / target
        if out.parent not in folders:
            out.parent.mkdir(parents=True, exist_ok=True)
            folders.add(out.parent)
        # Fixed modes, set on the open file: the same tree on any umask.
        mode = 0o755 if os.stat(source).st_mode & stat.S_IXUSR else 0o644
        _write(out, content, mode)
        owners[target] = layer
        written.append(target)
        if written_file is not None:
            written_file(target)
    return sorted(written)


def render_layers(
    root: Path,
    layers: tuple[str, ...],
    data: Mapping[str, Any],
    dest: Path,
    written_file: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Render layers in order into dest; return {relative path: layer that wrote it}."""
    owners: dict[str, str] = {}
    for layer in layers:
        layer_dir = root / layer
        if not layer_dir.is_dir():
            raise OperationFailed(
                f"template layer {layer!r} is missing from {root}",
                "reinstall scaffold or fix SCAFFOLD_TEMPLATES",
            )
        render_layer(layer_dir, data, dest, owners, written_file)
    return owners


@dataclass(frozen=True)
class RenderedProject:
    record: Record
    files: tuple[str, ...]  # what the layers wrote, sorted; the record file is not among them

    @property
    def tracked(self) -> tuple[str, ...]:
        """Every file the template branch holds: the layers' files and the record."""
        return (*self.files, RECORD_FILE)


def render_project(
    target: Path,
    framework: catalog.Framework,
    answers: dict[str, Any],
    record: Record | None = None,
    written_file: Callable[[str], None] | None = None,
) -> RenderedProject:
    """Render every layer and the record into target (an existing empty directory).

    `record` replaces the default one (this scaffold's version), e.g. to compare with an older
    render or to keep a user's record byte for byte. `written_file` is told each file's path
    (the record's last) as soon as it is complete."""
    layers = layer_names(framework.name)
    data = catalog.template_data(framework, answers)
    owners = render_layers(templates_root(), layers, data, target, written_file)
    record = record or Record(__version__, framework.name, layers, answers)
    (target / RECORD_FILE).write_text(record.to_yaml(), encoding="utf-8")
    if written_file is not None:
        written_file(RECORD_FILE)
    return RenderedProject(record, tuple(sorted(owners)))
