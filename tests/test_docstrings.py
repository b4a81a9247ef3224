"""Every public interface says what it is for (issue 14, point 12): each module, each public
function and class, and each public method of a public class carries a docstring.

Only definitions are checked: dataclass fields, NamedTuple fields and Enum members are not
functions and need nothing. A method that overrides a documented base method (an ABC's, a
Protocol's) needs its own docstring too: it says what this implementation does."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "haechi"

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _decorator_names(node: Definition) -> Iterator[str]:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute):
            yield target.attr
        elif isinstance(target, ast.Name):
            yield target.id


def _is_typer_command(node: Definition) -> bool:
    """`@app.command(...)` or `@app.callback(...)`: an attribute call, whatever the app is."""
    return any(
        isinstance(d, ast.Call)
        and isinstance(d.func, ast.Attribute)
        and d.func.attr in {"command", "callback"}
        for d in node.decorator_list
    )


def _excused(node: Definition, module: str) -> bool:
    names = set(_decorator_names(node))
    # Typer commands: their help comes from translatable `help=_()` texts, and a docstring
    # would become an untranslated help text.
    if module.startswith("cli/") and _is_typer_command(node):
        return True
    # `@overload` stubs: the implementation below them carries the docstring.
    if "overload" in names:
        return True
    # Property setters and deleters: the property's getter carries the docstring.
    return bool(names & {"setter", "deleter"})


def _definitions(body: list[ast.stmt]) -> Iterator[Definition]:
    """Definitions of a module or class body, including those under `if` and `try` (an
    optional import's fallback, a TYPE_CHECKING branch)."""
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield stmt
        elif isinstance(stmt, ast.If):
            yield from _definitions(stmt.body)
            yield from _definitions(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _definitions(stmt.body)
            for handler in stmt.handlers:
                yield from _definitions(handler.body)
            yield from _definitions(stmt.orelse)
            yield from _definitions(stmt.finalbody)


def _public(body: list[ast.stmt], module: str) -> Iterator[Definition]:
    """Public definitions of a body and, for each public class, its public methods and
    classes, however deep."""
    for node in _definitions(body):
        if node.name.startswith("_") or _excused(node, module):
            continue
        yield node
        if isinstance(node, ast.ClassDef):
            yield from _public(node.body, module)


def _missing() -> list[str]:
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        shown = f"src/haechi/{module}"
        if not ast.get_docstring(tree):
            missing.append(f"{shown}:1 (module)")
        for node in _public(tree.body, module):
            if not ast.get_docstring(node):
                missing.append(f"{shown}:{node.lineno} {node.name}")
    return missing


def test_every_public_interface_has_a_docstring() -> None:
    missing = _missing()
    assert not missing, f"{len(missing)} without a docstring:\n" + "\n".join(missing)
