"""The layers keep to their jobs: cli/ parses arguments and prints, services/ and store/ hold
the queries, so the web app and the API reuse the same functions."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from sqlalchemy import event

from haechi.services.persons import get_person, list_persons
from haechi.store.db import Database
from haechi.store.persons import ConsentRecord, FaceTemplate, OwnMediaHash, Person

SRC = Path(__file__).resolve().parents[1] / "src" / "haechi"


def _sql_in_cli() -> list[str]:
    found = []
    for path in sorted((SRC / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import):
                found += [f"{where} import {a.name}" for a in node.names if "sqlalchemy" in a.name]
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                if "sqlalchemy" in mod or mod in ("haechi.store.models", "haechi.store.findings"):
                    found.append(f"{where} from {mod} import")
            elif isinstance(node, ast.Attribute) and node.attr in ("session", "execute", "scalar"):
                if isinstance(node.ctx, ast.Load):
                    found.append(f"{where} .{node.attr}")
            elif isinstance(node, ast.Name) and node.id == "select":
                found.append(f"{where} select")
    return found


def test_cli_has_no_sql() -> None:
    assert _sql_in_cli() == []


def _count_queries(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_persons_listing_takes_two_queries_however_many_persons(db: Database) -> None:
    with db.session() as s:
        for i in range(5):
            p = Person(alias=f"p{i}")
            s.add(p)
            s.flush()
            for by in ("first", "second"):
                s.add(
                    ConsentRecord(
                        person_id=p.id,
                        text="yes",
                        consented_by=by,
                        for_whom=p.alias,
                        scope="match",
                        verified_how="id",
                    )
                )
            for _n in range(i):
                s.add(
                    FaceTemplate(
                        person_id=p.id, embedding=b"", model="m", model_version="1", quality={}
                    )
                )
            s.add(OwnMediaHash(person_id=p.id, kind="image", md5=f"{i:032x}", pdq={}))
    seen = _count_queries(db)
    persons = list_persons(db)
    selects = [q for q in seen if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 2, selects
    assert [p.alias for p in persons] == [f"p{i}" for i in range(5)]
    assert [p.templates for p in persons] == [0, 1, 2, 3, 4]
    assert all(p.own_media == 1 and p.findings == 0 for p in persons)
    # The first consent given is the one shown.
    assert {p.consent.by for p in persons if p.consent} == {"first"}
    one = get_person(db, "p3")
    assert (one.alias, one.templates, one.consent and one.consent.by) == ("p3", 3, "first")


def test_store_builds_no_json_and_computes_no_risk() -> None:
    """store/ reads and writes rows; the JSON lines and the risk are the services' (the CLI,
    the web app and the API then share them)."""
    upward = ("haechi.risk", "haechi.analyzers", "haechi.services", "haechi.cli", "haechi.scan")
    found = []
    for path in sorted((SRC / "store").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(upward):
                found.append(f"{path.name}:{node.lineno} imports {node.module}")
    assert found == []
    from haechi.store.items import ItemView

    assert not hasattr(ItemView, "to_json") and not hasattr(ItemView, "risk")


def test_hooks_are_registered_by_name_not_by_import() -> None:
    """Importing the wiring modules registers nothing; the hooks named in BUILTIN_HOOKS load on
    first use, once, in their order (preserve the item, make a face-changed pair's difference
    picture from it, compare her faces with her own photos, then join her cases; banks, then
    scenes with another face)."""
    code = """
import haechi.evidence.wiring, haechi.services.wiring
from haechi import hooks
assert hooks.on_finding == [] and hooks.item_matchers == [], "registered on import"
hooks._builtins()
hooks._builtins()
print([f.__module__ + ":" + f.__name__ for f in hooks.on_finding + hooks.item_matchers])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    from haechi.hooks import BUILTIN_HOOKS

    assert done.stdout.strip() == str([target for _point, target in BUILTIN_HOOKS])
    assert [point for point, _t in BUILTIN_HOOKS] == [
        "on_finding",
        "on_finding",
        "on_finding",
        "on_finding",
        "item_matchers",
        "item_matchers",
    ]


def test_split_modules_stay_under_400_lines() -> None:
    """network/roles and the HTML export reader were split by what they do (issue 14, 12)."""
    paths = [
        *(SRC / "network" / "roles").glob("*.py"),
        *(SRC / "sources" / "tdesktop").glob("*.py"),
    ]
    long = {p.name: n for p in paths if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
    assert not (SRC / "network" / "roles.py").exists()


def test_thresholds_are_written_once() -> None:
    """Each signal type's comparison thresholds live in haechi.matching.thresholds: no function
    default, setting default or dict elsewhere writes a PDQ distance, quality, frame share or
    face similarity as a number (issue 14, 9)."""
    names = ("distance", "quality", "share", "similarity", "pdq_max", "pdq", "threshold")
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "thresholds.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            pairs: list[tuple[str, ast.expr]] = []
            if isinstance(node, ast.arguments):
                args = [*node.posonlyargs, *node.args]
                pairs += zip(
                    [a.arg for a in args[len(args) - len(node.defaults) :]],
                    node.defaults,
                    strict=True,
                )
                pairs += [
                    (a.arg, d) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True) if d
                ]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                call = node.value
                if isinstance(call, ast.Call):
                    name = node.target.id
                    pairs += [(name, k.value) for k in call.keywords if k.arg == "default"]
            elif isinstance(node, ast.Dict):
                pairs += [
                    (k.value, v)
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                ]
            for name, value in pairs:
                if (
                    any(n in name for n in names)
                    and isinstance(value, ast.Constant)
                    and type(value.value) in (int, float)
                    and value.value in (31, 50, 0.8, 0.45)
                ):
                    found.append(f"{path.relative_to(SRC)}:{value.lineno} {name}={value.value}")
    assert found == []


def test_the_scan_names_no_plug_in() -> None:
    """The scan finds its analyzers and sources through the registries, never by a built-in's
    name (the text analyzer used to be looked up as "chat_text")."""
    builtins = ("chat_text", "ChatTextAnalyzer", "FacesAnalyzer", "FolderSource")
    found = [
        f"{p.name}: {name}"
        for p in sorted((SRC / "scan").glob("*.py"))
        for name in builtins
        if name in p.read_text(encoding="utf-8")
    ]
    assert found == []


def test_role_wording_lives_in_the_data_files() -> None:
    """Buyer and request wording is data (analyzers/data/roles.yaml), not regexes in the role
    code: no string in network/roles, docstrings aside, holds Hangul (issue 14, 9)."""
    found = []
    for path in sorted((SRC / "network" / "roles").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        docs = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
        }
        found += [
            f"{path.name}:{n.lineno}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and id(n) not in docs
            and any("\uac00" <= ch <= "\ud7a3" for ch in n.value)
        ]
    assert found == []
    from haechi.network.roles.language import BUYER, REQUEST

    assert BUYER.search("입금했습니다") and not BUYER.search("입금 받습니다")
    assert REQUEST.search("만들어 주세요") and not REQUEST.search("만들어 드립니다")
