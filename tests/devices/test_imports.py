"""The door firmware stands on the protocol alone: ``carekey.devices`` imports only
``carekey.protocol``, ``carekey.link``, ``carekey.clock`` and itself (docs: ARCHITECTURE,
"Layout"). A door must not reach for the server's database or services, even by accident."""

from __future__ import annotations

import ast
from pathlib import Path

import carekey.devices

ALLOWED = frozenset({"protocol", "link", "clock", "devices"})


def _carekey_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "carekey":
                found.update(f"carekey.{alias.name}" for alias in node.names)
    return {name for name in found if name == "carekey" or name.startswith("carekey.")}


def test_devices_import_only_protocol_link_and_clock() -> None:
    package = Path(carekey.devices.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) > 5
    wrong = {
        f"{path.name}: {name}"
        for path in modules
        for name in _carekey_imports(path)
        if name == "carekey" or name.split(".")[1] not in ALLOWED
    }
    assert not wrong, sorted(wrong)
