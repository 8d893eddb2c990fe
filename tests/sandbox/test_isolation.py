"""``kessai/sandbox/`` never imports ``kessai.providers`` nor Django (design.md, "Rules")."""

from __future__ import annotations

import ast
from pathlib import Path

import kessai.sandbox

FORBIDDEN = ("kessai.providers", "django")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_sandbox_imports_neither_providers_nor_django() -> None:
    root = Path(kessai.sandbox.__file__).parent
    offending = [
        f"{path.relative_to(root)}: {name}"
        for path in sorted(root.rglob("*.py"))
        for name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offending == []
    assert len(list(root.rglob("*.py"))) > 10
