"""The package's shape, as docs/architecture.md describes it: checked, so it stays true.

- SQL lives in query modules (and the ``store`` floor): a use case reads like the use case.
- A part of the domain uses another part through its use cases, never through its SQL, its
  endpoints or its pages.
- No module grows past about 800 lines.
(The direction of dependencies is checked by import-linter: ``make imports``.)
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "carekey"
PARTS = (
    "accounts",
    "associations",
    "audit",
    "citizens",
    "consents",
    "dashboard",
    "dataaccess",
    "districts",
    "doors",
    "emergency_keys",
    "ingest",
    "installer",
    "keyservice",
    "online",
    "organisations",
    "partners",
    "phones",
    "revocation",
    "seed",
    "signin",
    "staff",
    "webhooks",
    "workorders",
)
# Where SQL may be written: query modules, the store floor, and the parts that are not the
# server (the simulation seeds and inspects databases directly; the key app has its own SQLite).
SQL_HOMES = ("store", "sim", "app", "devices")
PRIVATE = ("queries", "api", "pages", "schemas")
MAX_LINES = 800
_SQL = re.compile(r"\bselect\(|\bsession\.execute\(|\bdb\.execute\(|\bconnection\.execute\(")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _is_query_module(path: Path) -> bool:
    return path.stem == "queries" or path.stem.endswith("_queries") or "queries" in path.parts


def test_sql_only_in_query_modules() -> None:
    found = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if path.relative_to(PACKAGE).parts[0] not in SQL_HOMES
        and not _is_query_module(path)
        and _SQL.search(path.read_text())
    ]
    assert found == [], f"SQL outside the query modules: {found}"


def test_the_check_sees_sql() -> None:
    assert _SQL.search("rows = db.execute(select(m.Employee))")
    assert not _SQL.search("selection = choose(x)")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("part", PARTS)
def test_a_part_uses_another_only_through_its_use_cases(part: str) -> None:
    wrong = []
    for path in (PACKAGE / part).rglob("*.py"):
        for name in _imports(path):
            bits = name.split(".")
            other = len(bits) >= 3 and bits[0] == "carekey" and bits[1] in PARTS
            if other and bits[1] != part and (bits[2] in PRIVATE or bits[2].endswith("_queries")):
                wrong.append(f"{path.relative_to(PACKAGE)} -> {'.'.join(bits[:3])}")
    assert wrong == [], f"{part} reaches into another part: {sorted(set(wrong))}"


def test_every_part_is_a_package() -> None:
    for part in PARTS:
        assert (PACKAGE / part / "__init__.py").is_file(), part


def test_no_module_over_800_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by what they are about: {long}"


_IMPORT_EACH = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "carekey" or m.startswith("carekey.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed.append(f"{name}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_part_imports_first() -> None:
    """Each part's use cases import in a fresh interpreter, whichever is imported first: parts
    that import each other (consents -> revocation -> workorders -> consents) do it as modules,
    never ``from ... import name`` of a module still being initialised."""
    names = [
        f"carekey.{part}.{module.stem}"
        for part in PARTS
        for module in sorted((PACKAGE / part).glob("*.py"))
        if module.stem == "service"
    ]
    done = subprocess.run(  # noqa: S603 - this interpreter, our own module names
        [sys.executable, "-c", _IMPORT_EACH, *names],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
