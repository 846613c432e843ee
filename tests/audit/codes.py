"""Every action code the log of administrative actions can hold, found by reading the source.

``record_admin_action(..., action=...)`` is called all over ``src``: with a literal, with a
conditional between literals, with an f-string whose hole is a parameter of the calling helper
(``f"work_order.{action}"``), or with the helper's parameter itself (``_audit(db, actor, sub,
"webhook.created", now)``), or with a module-level constant (its own, or imported from another
``carekey`` module). This module follows each of those to the literals (a helper's call sites
in the same module). What it cannot follow it reports, so that a new way of writing a
code makes the test fail instead of hiding a code from it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import carekey

SRC = Path(carekey.__file__).resolve().parent
RECORDER = "record_admin_action"


@dataclass
class Found:
    """The codes found, where each came from, and what could not be followed."""

    codes: dict[str, str] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _enclosing(tree: ast.Module, target: ast.AST) -> ast.FunctionDef | None:
    best: ast.FunctionDef | None = None
    for node in ast.walk(tree):
        inside = isinstance(node, ast.FunctionDef) and any(c is target for c in ast.walk(node))
        if inside and (best is None or any(c is node for c in ast.walk(best))):
            best = node
    return best


def _argument(call: ast.Call, function: ast.FunctionDef, name: str) -> ast.expr | None:
    """The expression a call passes for ``function``'s parameter ``name``."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    positional = [a.arg for a in function.args.posonlyargs + function.args.args]
    if name in positional:
        index = positional.index(name)
        if index < len(call.args):
            return call.args[index]
    return None


class _Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text())
        self.functions = _functions(self.tree)
        self.constants: dict[str, ast.expr] = {}
        self.imported: dict[str, tuple[str, str]] = {}
        """name -> (module, the name imported from it)"""
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    self.constants[target.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    self.constants[node.target.id] = node.value
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    name = alias.asname or alias.name
                    self.imported[name] = (node.module, alias.name)

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(SRC.parent)}:{getattr(node, 'lineno', '?')}"

    def values(self, expr: ast.expr, at: ast.AST, depth: int = 0) -> list[str] | None:
        """The strings ``expr`` can be, or None when they cannot be known from the source."""
        if depth > 4:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return [expr.value]
        if isinstance(expr, ast.IfExp):
            body, orelse = self.values(expr.body, at, depth), self.values(expr.orelse, at, depth)
            return None if body is None or orelse is None else body + orelse
        if isinstance(expr, ast.JoinedStr):
            results = [""]
            for part in expr.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    results = [r + part.value for r in results]
                elif isinstance(part, ast.FormattedValue):
                    holes = self.values(part.value, at, depth + 1)
                    if holes is None:
                        return None
                    results = [r + h for r in results for h in holes]
                else:
                    return None
            return results
        if isinstance(expr, ast.Name):
            function = _enclosing(self.tree, at)
            params = (
                {a.arg for a in function.args.posonlyargs + function.args.args}
                | {a.arg for a in function.args.kwonlyargs}
                if function
                else set()
            )
            if function is not None and expr.id in params:
                return self._from_call_sites(function, expr.id, depth + 1)
            if expr.id in self.constants:
                return self.values(self.constants[expr.id], at, depth + 1)
            if expr.id in self.imported:
                module, name = self.imported[expr.id]
                return _constant_of(module, name, depth + 1)
        # codes.PASSWORD_SET, with ``from carekey.accounts import codes``
        if (
            isinstance(expr, ast.Attribute)
            and isinstance(expr.value, ast.Name)
            and expr.value.id in self.imported
        ):
            package, name = self.imported[expr.value.id]
            return _constant_of(f"{package}.{name}", expr.attr, depth + 1)
        return None

    def _from_call_sites(
        self, function: ast.FunctionDef, parameter: str, depth: int
    ) -> list[str] | None:
        results: list[str] = []
        sites = 0
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and _called_name(node) == function.name:
                sites += 1
                passed = _argument(node, function, parameter)
                if passed is None:
                    return None
                found = self.values(passed, node, depth)
                if found is None:
                    return None
                results.extend(found)
        return results if sites else None


def _constant_of(module: str, name: str, depth: int) -> list[str] | None:
    """The strings a module-level constant ``name`` of the carekey module ``module`` can be."""
    if not module.startswith("carekey."):
        return None
    base = SRC.joinpath(*module.split(".")[1:])
    path = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
    if not path.is_file():
        return None
    other = _Module(path)
    if name not in other.constants:
        return None
    return other.values(other.constants[name], other.tree, depth)


def admin_action_codes(root: Path = SRC) -> Found:
    """Every ``action`` any ``record_admin_action`` call under ``root`` can write."""
    found = Found()
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        if RECORDER not in text:
            continue
        module = _Module(path)
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and _called_name(node) == RECORDER):
                continue
            action = next((k.value for k in node.keywords if k.arg == "action"), None)
            if action is None:
                found.unresolved.append(f"{module.where(node)}: no action= keyword")
                continue
            values = module.values(action, node)
            if values is None:
                found.unresolved.append(f"{module.where(node)}: {ast.unparse(action)}")
                continue
            for value in values:
                found.codes.setdefault(value, module.where(node))
    return found
