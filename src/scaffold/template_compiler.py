"""Translate the shipped templates into plain Python once, so `new` and `update` need no Jinja.

Importing jinja2 and compiling every template cost `scaffold new` more than half of
`django-admin startproject` (see benchmarks/README.md). This module parses each template with
the renderer's own Jinja environment and translates the syntax tree into a Python function
that only uses str, list, dict and json. The functions are written to
`scaffold/_precompiled_templates.py`, keyed by the exact template text (a dict lookup: no hash
library to import, no collision to worry about); `render.py` looks a template up there and
falls back to Jinja for any text it does not find.

Only a small subset is translated, and each piece means exactly what Jinja means by it with
the renderer's settings (no autoescape, StrictUndefined, sandboxed attribute access):

- output: literal text, and `str(value)` of an expression;
- `if`/`elif`/`else`, `for` (tuple targets and `if` filters, no `loop`, no `else`, no
  `recursive`), top-level `set`;
- names, constants, tuples, lists, dicts, `.attr` and `[key]` on mappings, `==` `!=` `<` `<=`
  `>` `>=` `in` `not in`, `and` `or` `not`, `x if c else y`, `+`, `~`;
- the filters `replace(old, new)`, `join(separator)`, `list`, `map(attribute=...)`,
  `selectattr(name)`, and `tojson`/`e` as the outermost filter of an output (their Markup
  must not meet other operations, where Markup changes what `+` or `replace` do).

A template that uses anything else is not translated (the generator says which and why), and
at render time every translated function that raises hands the template to Jinja, which then
renders it or raises its own error: a missing answer, an attribute that is not a mapping key,
a value of an unexpected type all take that path. tests/test_precompiled.py renders every
shipped template both ways for every framework and requires the same text.

    python -m scaffold.template_compiler           # rewrite _precompiled_templates.py
    python -m scaffold.template_compiler --check   # exit 1 if a template is not covered

`--templates DIR` (repeatable) compiles other template folders instead of the shipped one;
entries are keyed by content, so one module may serve several versions of the templates.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).parent / "_precompiled_templates.py"
COMPARISONS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "lteq": "<=",
    "gt": ">",
    "gteq": ">=",
    "in": "in",
    "notin": "not in",
}


class Unsupported(Exception):
    """The template uses something outside the translated subset."""


def digest(text: str) -> str:
    """A stable name for a template's function: the sha256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class _Function:
    """Python source for one template, built statement by statement."""

    lines: list[str] = field(default_factory=list)
    depth: int = 0  # nesting of for loops; scope c<depth> holds the names visible there
    counter: int = 0

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"


def _const(value: Any) -> str:
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float) and value == value and value not in (float("inf"), -float("inf")):
        return repr(value)
    raise Unsupported(f"constant of type {type(value).__name__}")


def _identifier(node: Any, what: str) -> str:
    from jinja2 import nodes

    if not isinstance(node, nodes.Const) or not isinstance(node.value, str):
        raise Unsupported(f"{what} must be a constant string")
    name: str = node.value
    if not name.isidentifier():
        raise Unsupported(f"{what} {name!r} is not a plain name")
    return name


def _expr(node: Any, scope: str, where: str = "value") -> str:
    """Python source for a Jinja expression. `where`: "output" (outermost expression of an
    output, where Markup-making filters may appear), "iter" (consumed by iteration, where the
    lazy map/selectattr may appear) or "value" (anything else)."""
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        return _const(node.value)
    if isinstance(node, nodes.Name):
        if node.ctx != "load" or node.name == "loop":
            raise Unsupported(f"name {node.name!r}")
        return f"{scope}[{node.name!r}]"
    if isinstance(node, nodes.Getattr):
        if node.ctx != "load" or not node.attr.isidentifier():
            raise Unsupported("attribute")
        return f"_attr({_expr(node.node, scope)}, {node.attr!r})"
    if isinstance(node, nodes.Getitem):
        if node.ctx != "load" or isinstance(node.arg, nodes.Slice):
            raise Unsupported("subscript")
        return f"_item({_expr(node.node, scope)}, {_expr(node.arg, scope)})"
    if isinstance(node, nodes.Tuple | nodes.List):
        if isinstance(node, nodes.Tuple) and node.ctx != "load":
            raise Unsupported("tuple")
        items = [_expr(item, scope) for item in node.items]
        if isinstance(node, nodes.List):
            return "[" + ", ".join(items) + "]"
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(node, nodes.Dict):
        pairs = [f"{_expr(p.key, scope)}: {_expr(p.value, scope)}" for p in node.items]
        return "{" + ", ".join(pairs) + "}"
    if isinstance(node, nodes.Compare):
        parts = [_expr(node.expr, scope)]
        for operand in node.ops:
            if operand.op not in COMPARISONS:
                raise Unsupported(f"comparison {operand.op}")
            parts += [COMPARISONS[operand.op], _expr(operand.expr, scope)]
        return "(" + " ".join(parts) + ")"
    if isinstance(node, nodes.And | nodes.Or):
        word = "and" if isinstance(node, nodes.And) else "or"
        return f"({_expr(node.left, scope)} {word} {_expr(node.right, scope)})"
    if isinstance(node, nodes.Not):
        return f"(not {_expr(node.node, scope)})"
    if isinstance(node, nodes.CondExpr):
        if node.expr2 is None:
            raise Unsupported("`x if c` without else")
        test, yes, no = (_expr(n, scope) for n in (node.test, node.expr1, node.expr2))
        return f"({yes} if {test} else {no})"
    if isinstance(node, nodes.Add):
        return f"({_expr(node.left, scope)} + {_expr(node.right, scope)})"
    if isinstance(node, nodes.Concat):
        joined = ", ".join(f"str({_expr(n, scope)})" for n in node.nodes)
        return f"''.join([{joined}])"
    if isinstance(node, nodes.Filter):
        return _filter(node, scope, where)
    raise Unsupported(f"expression {type(node).__name__}")


def _filter(node: Any, scope: str, where: str) -> str:
    if node.node is None or node.dyn_args is not None or node.dyn_kwargs is not None:
        raise Unsupported(f"filter {node.name}")
    kwargs = {keyword.key: keyword.value for keyword in node.kwargs}
    shape = (node.name, len(node.args), tuple(sorted(kwargs)))
    if shape == ("replace", 2, ()):
        value = _expr(node.node, scope)
        old, new = (_expr(arg, scope) for arg in node.args)
        return f"str({value}).replace(str({old}), str({new}))"
    if shape in (("tojson", 0, ()), ("e", 0, ()), ("escape", 0, ())) and where == "output":
        helper = "_tojson" if node.name == "tojson" else "_escape"
        return f"{helper}({_expr(node.node, scope)})"
    if shape[0] == "join" and shape[1] <= 1 and not kwargs:
        separator = _expr(node.args[0], scope) if node.args else "''"
        return f"str({separator}).join(map(str, {_expr(node.node, scope, 'iter')}))"
    if shape == ("list", 0, ()):
        return f"list({_expr(node.node, scope, 'iter')})"
    if shape == ("map", 0, ("attribute",)) and where == "iter":
        key = _identifier(kwargs["attribute"], "map's attribute")
        item = "_x"
        return f"(_item({item}, {key!r}) for {item} in {_expr(node.node, scope, 'iter')})"
    if shape == ("selectattr", 1, ()) and where == "iter":
        key = _identifier(node.args[0], "selectattr's attribute")
        item = "_x"
        return f"({item} for {item} in {_expr(node.node, scope, 'iter')} if _item({item}, {key!r}))"
    raise Unsupported(f"filter {node.name} with {len(node.args)} arguments here")


def _targets(node: Any) -> list[str]:
    from jinja2 import nodes

    if isinstance(node, nodes.Name) and node.ctx == "store" and node.name != "loop":
        return [node.name]
    if isinstance(node, nodes.Tuple) and node.ctx == "store":
        return [name for item in node.items for name in _targets(item)]
    raise Unsupported("assignment target")


def _store(node: Any, scope: str) -> str:
    """The Python assignment target for a Jinja store target, writing into scope."""
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return f"{scope}[{node.name!r}]"
    items = [_store(item, scope) for item in node.items]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _body(body: list[Any], out: _Function, indent: int) -> None:
    from jinja2 import nodes

    scope = f"c{out.depth}"
    start = len(out.lines)
    for node in body:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    out.emit(indent, f"w({child.data!r})")
                else:
                    out.emit(indent, f"w(str({_expr(child, scope, 'output')}))")
        elif isinstance(node, nodes.If):
            out.emit(indent, f"if {_expr(node.test, scope)}:")
            _body(node.body, out, indent + 1)
            for branch in node.elif_:
                out.emit(indent, f"elif {_expr(branch.test, scope)}:")
                _body(branch.body, out, indent + 1)
            if node.else_:
                out.emit(indent, "else:")
                _body(node.else_, out, indent + 1)
        elif isinstance(node, nodes.For):
            if node.else_ or node.recursive:
                raise Unsupported("for with else or recursive")
            _targets(node.target)
            iterable = _expr(node.iter, scope, "iter")
            item = out.fresh("_i")
            out.depth += 1
            inner = f"c{out.depth}"
            out.emit(indent, f"for {item} in {iterable}:")
            # A fresh scope per iteration: Jinja's loop variables never leak out of the loop.
            out.emit(indent + 1, f"{inner} = dict({scope})")
            out.emit(indent + 1, f"{_store(node.target, inner)} = {item}")
            if node.test is not None:
                out.emit(indent + 1, f"if not {_expr(node.test, inner)}:")
                out.emit(indent + 2, "continue")
            if any(node.find_all((nodes.Assign, nodes.AssignBlock))):
                raise Unsupported("set inside a for loop")
            _body(node.body, out, indent + 1)
            out.depth -= 1
        elif isinstance(node, nodes.Assign):
            if out.depth:
                raise Unsupported("set inside a for loop")
            _targets(node.target)
            out.emit(indent, f"{_store(node.target, scope)} = {_expr(node.node, scope)}")
        else:
            raise Unsupported(f"statement {type(node).__name__}")
    if len(out.lines) == start:
        out.emit(indent, "pass")


def translate(text: str, name: str) -> str:
    """Python source of `def name(d)` rendering `text` as the renderer's Jinja would."""
    from jinja2 import TemplateSyntaxError, nodes

    from scaffold.render import _jinja_env

    try:
        tree = _jinja_env().parse(text)
    except TemplateSyntaxError as error:
        raise Unsupported(f"syntax error: {error}") from error
    out = _Function()
    writes = any(tree.find_all((nodes.Assign, nodes.AssignBlock)))
    out.emit(1, "c0 = dict(d)" if writes else "c0 = d")
    out.emit(1, "o: list[str] = []")
    out.emit(1, "w = o.append")
    _body(tree.body, out, 1)
    out.emit(1, "return ''.join(o)")
    return "\n".join([f"def {name}(d: Mapping[str, Any]) -> str:", *out.lines])


HEADER = '''"""Generated by `python -m scaffold.template_compiler` from templates/: do not edit.

TEMPLATES maps a template's text to a function rendering it exactly as the renderer's Jinja
environment would; LAYERS maps a layer's copier.yml text to the settings the renderer reads
from it. render.py falls back to Jinja and yaml for any other text.
"""

# ruff: noqa
# fmt: off

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _attr(obj: Any, name: str) -> Any:
    # Jinja's sandboxed `obj.name` where it means a mapping's key; a real attribute (or no
    # key) raises, and the renderer lets Jinja apply its own rules.
    if hasattr(obj, name):
        raise LookupError(name)
    return obj[name]


def _item(obj: Any, key: Any) -> Any:
    return obj[key]


def _tojson(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True)
    for char, code in (
        ("<", "\\\\u003c"),
        (">", "\\\\u003e"),
        ("&", "\\\\u0026"),
        ("'", "\\\\u0027"),
    ):
        text = text.replace(char, code)
    return text


def _escape(value: Any) -> str:
    from markupsafe import escape

    return str(escape(value))
'''


def _sources(root: Path) -> Iterator[tuple[str, str]]:
    """(where, text) of every template text and templated path part in every layer."""
    from scaffold.render import LayerConfig

    for layer_dir in sorted(p for p in root.iterdir() if (p / "copier.yml").is_file()):
        config = LayerConfig.read(layer_dir)
        for path in sorted(config.root.rglob("*")):
            rel = path.relative_to(config.root)
            for part in rel.parts:
                if "{" in part:
                    yield f"{layer_dir.name}/{rel} (path part {part})", part
            if path.is_file() and path.name.endswith(config.suffix):
                yield f"{layer_dir.name}/{rel}", path.read_text(encoding="utf-8")


def _layers(root: Path) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    import yaml

    found = {}
    for config_file in sorted(root.glob("*/copier.yml")):
        text = config_file.read_text(encoding="utf-8")
        config = yaml.safe_load(text) or {}
        found[text] = (
            str(config.get("_subdirectory", "")),
            str(config.get("_templates_suffix", ".jinja")),
            tuple(str(pattern) for pattern in config.get("_exclude", ())),
        )
    return found


def generate(roots: list[Path]) -> tuple[str, list[str]]:
    """The module's text for the layers under roots, and a line per template left to Jinja."""
    functions: dict[str, tuple[str, str]] = {}  # text -> (function name, source)
    layers: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    skipped = []
    for root in roots:
        layers.update(_layers(root))
        for where, text in _sources(root):
            if text in functions:
                continue
            name = f"_t_{digest(text)[:16]}"
            try:
                functions[text] = (name, translate(text, name))
            except Unsupported as reason:
                skipped.append(f"{where}: {reason}")
    if len({name for name, _ in functions.values()}) != len(functions):
        raise SystemExit("two templates share a 16-digit sha256 prefix; lengthen the names")
    ordered = sorted(functions.items(), key=lambda item: item[1][0])
    parts = [HEADER]
    parts += ["\n\n" + source + "\n" for _, (_, source) in ordered]
    parts.append("\n\nTEMPLATES: dict[str, Callable[[Mapping[str, Any]], str]] = {\n")
    parts += [f"    {text!r}: {name},\n" for text, (name, _) in ordered]
    parts.append("}\n\nLAYERS: dict[str, tuple[str, str, tuple[str, ...]]] = {\n")
    parts += [f"    {text!r}: {value!r},\n" for text, value in sorted(layers.items())]
    parts.append("}\n")
    return "".join(parts), sorted(set(skipped))


def missing(root: Path) -> list[str]:
    """What under root the generated module does not cover (and Jinja is not left with)."""
    from scaffold import _precompiled_templates as module

    gaps = []
    for config_file in sorted(root.glob("*/copier.yml")):
        if config_file.read_text(encoding="utf-8") not in module.LAYERS:
            gaps.append(str(config_file.relative_to(root)))
    for where, text in _sources(root):
        if text not in module.TEMPLATES:
            try:
                translate(text, "t")
            except Unsupported:
                continue
            gaps.append(where)
    return gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a template is missing")
    parser.add_argument("--templates", type=Path, action="append", help="default: shipped")
    args = parser.parse_args(argv)
    from scaffold.render import templates_root

    roots = args.templates or [templates_root()]
    if args.check:
        gaps = [f"{root}: {gap}" for root in roots for gap in missing(root)]
        for gap in gaps:
            print(f"not precompiled: {gap}")
        if gaps:
            print("run python -m scaffold.template_compiler and commit the result")
        return 1 if gaps else 0
    text, skipped = generate(roots)
    for line in skipped:
        print(f"left to Jinja: {line}", file=sys.stderr)
    if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != text:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
