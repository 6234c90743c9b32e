"""Imports keep one direction, so each folder can be read (and changed) knowing only what is below it:
models ← scheduler ← triage ← bots, desk, reports; `heard` (the composition root) above all."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each package and the packages of ours it may import.
MAY_IMPORT = {
    "models": set(),
    "scheduler": {"models"},
    "triage": {"models", "scheduler"},
    "bots": {"models", "scheduler", "triage"},
    "desk": {"models", "scheduler", "triage", "reports"},  # the app shows the report: reports never import desk
    "reports": {"models", "scheduler", "triage"},
    "heard": {"models", "scheduler", "triage", "bots", "desk", "reports"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(MAY_IMPORT)


def test_every_package_imports_only_what_is_below_it() -> None:
    wrong = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for name in imports_of(path) - allowed - {package}:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_triage_is_cleaning_the_classifier_and_intake_only() -> None:
    names = {p.name for p in (ROOT / "triage").iterdir() if not p.name.startswith(("_", "."))}
    assert {"web", "report"}.isdisjoint(names)
    assert (ROOT / "desk" / "app.py").is_file() and (ROOT / "reports" / "compute.py").is_file()
