"""Check the coverage floors: the whole package, and each package named in the table.

Reads the report ``coverage json`` wrote (``make test`` writes ``var/coverage.json``) and the
floors from ``[tool.carekey.coverage]`` in ``pyproject.toml``, prints one line per package
(lines, covered, percent, floor) and exits 1 if any is below its floor. A package in the table
that does not exist (yet) is skipped with a note. Floors are percent of lines and only go up.

With ``--junit`` (pytest's JUnit XML of the same run): a run that skipped tests (a developer's
machine without PostgreSQL or Chromium, where the README promises a visible skip) measured less
than the whole suite, so the floors are reported but not enforced, with a note; under
``CI=true`` nothing may be skipped and the floors are always enforced.

    python tools/coverage_floor.py [var/coverage.json] [--junit var/junit.xml]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "carekey"


def module_path(filename: str) -> PurePosixPath | None:
    """``src/carekey/services/keys.py`` (or an absolute path) as ``carekey/services/keys.py``."""
    parts = PurePosixPath(filename.replace("\\", "/")).parts
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == PACKAGE and (index == 0 or parts[index - 1] == "src"):
            return PurePosixPath(*parts[index:])
    return None


def tally(report: dict[str, Any]) -> tuple[dict[str, list[int]], list[int]]:
    """Statements and covered lines per top-level package (``carekey/api``, ...), and total."""
    packages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    total = [0, 0]
    for filename, data in report["files"].items():
        path = module_path(filename)
        if path is None:
            continue
        summary = data["summary"]
        counts = (int(summary["num_statements"]), int(summary["covered_lines"]))
        # Every package that holds the file, so nested floors (carekey/access/keys) work too.
        for depth in range(2, len(path.parts)):
            entry = packages[str(PurePosixPath(*path.parts[:depth]))]
            entry[0] += counts[0]
            entry[1] += counts[1]
        total[0] += counts[0]
        total[1] += counts[1]
    return packages, total


def skipped_tests(junit: Path) -> int:
    """How many tests pytest's JUnit XML report says were skipped."""
    root = ET.parse(junit).getroot()  # noqa: S314 - pytest's own report of this run
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    return sum(int(suite.get("skipped", "0")) for suite in suites)


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def percent(statements: int, covered: int) -> float:
    return 100.0 if statements == 0 else 100.0 * covered / statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", default=str(ROOT / "var" / "coverage.json"))
    parser.add_argument("--pyproject", default=str(ROOT / "pyproject.toml"))
    parser.add_argument("--junit", help="pytest's JUnit XML report of the same run")
    args = parser.parse_args(argv)

    config = tomllib.loads(Path(args.pyproject).read_text(encoding="utf-8"))
    floors = config["tool"]["carekey"]["coverage"]
    total_floor = float(floors["total"])
    package_floors = {str(k): float(v) for k, v in floors.get("packages", {}).items()}
    report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    packages, total = tally(report)

    failures: list[str] = []
    notes: list[str] = []
    rows: list[tuple[str, int, int, float, float | None]] = []
    top_level = sorted(name for name in packages if name.count("/") == 1)
    for name in sorted(set(top_level) | set(package_floors)):
        floor = package_floors.get(name)
        if name not in packages:
            notes.append(f"{name}: no such package (yet); its floor of {floor:g} % is skipped")
            continue
        statements, covered = packages[name]
        measured = percent(statements, covered)
        rows.append((name, statements, covered, measured, floor))
    rows.append(("total", total[0], total[1], percent(*total), total_floor))
    for name, _, _, measured, floor in rows:
        if floor is not None and measured < floor:
            failures.append(f"{name}: {measured:.2f} % of lines, floor {floor:g} %")

    print(f"{'coverage of lines':<24} {'lines':>7} {'covered':>8} {'percent':>8} {'floor':>6}")
    for name, statements, covered, measured, floor in rows:
        shown = "" if floor is None else f"{floor:g}"
        print(f"{name:<24} {statements:>7} {covered:>8} {measured:>8.2f} {shown:>6}")
    for note in notes:
        print(f"note: {note}")
    skipped = 0 if args.junit is None else skipped_tests(Path(args.junit))
    if failures and skipped and not under_ci():
        for failure in failures:
            print(f"below the floor (not enforced): {failure}")
        print(
            f"note: {skipped} tests were skipped, so this run measured less than the whole suite: "
            "the floors are not enforced (CI=true enforces them)"
        )
        return 0
    for failure in failures:
        print(f"FAILED, below the floor: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
