"""The tests keep their shared helpers where they belong: in conftest.py or a factories module
named for what it holds (fake_telegram.py, storage_faults.py, ...), never in a test module that
another imports. Otherwise renaming or trimming one test module breaks unrelated ones, private
(underscored) helpers become another module's API, and a fixture imported by name needs noqa
comments to get past the linter."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test(module: str) -> bool:
    """Whether `module` (dotted or not) is a test module: its first part is named test_*."""
    return module.split(".")[0].startswith("test_")


def imports_of_test_modules(path: Path) -> list[str]:
    """Each import in `path` of a module named test_*, as "file:line import ...", in line order;
    imports inside functions count too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if _is_test(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.module and _is_test(node.module):
                names = ", ".join(a.name for a in node.names)
                found.append((node.lineno, f"from {node.module} import {names}"))
            elif node.module is None:  # `from . import test_x`
                found += [
                    (node.lineno, f"from . import {a.name}") for a in node.names if _is_test(a.name)
                ]
    return [f"{path.name}:{line} {what}" for line, what in sorted(found)]


def test_no_test_module_imports_another() -> None:
    """Every module under tests/: test modules, conftest.py and the factories modules alike."""
    paths = sorted(TESTS.glob("*.py"))
    assert any(p.name.startswith("test_") for p in paths)
    found = [hit for path in paths for hit in imports_of_test_modules(path)]
    assert found == [], "move the helper to conftest.py or a factories module:\n" + "\n".join(found)


def test_the_check_sees_both_forms_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import os\n"
        "from conftest import run\n"
        "from test_media import clip\n"
        "import test_errors, json\n"
        "def f() -> None:\n"
        "    import test_cli.sub\n"
        "from . import test_x\n"
        "from fake_telegram import FakeTelegram\n",
        encoding="utf-8",
    )
    assert imports_of_test_modules(sample) == [
        "test_sample.py:3 from test_media import clip",
        "test_sample.py:4 import test_errors",
        "test_sample.py:6 import test_cli.sub",
        "test_sample.py:7 from . import test_x",
    ]
