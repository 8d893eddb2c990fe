"""``kessai/providers/np_atobarai`` and ``carriers.py`` import neither the emulator nor Django (design.md, "Rules")."""

from __future__ import annotations

import ast
from pathlib import Path

import kessai.providers

FORBIDDEN = ("kessai.sandbox", "django")


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_adapter_and_the_carrier_vocabulary_are_pure_python() -> None:
    root = Path(kessai.providers.__file__).parent
    files = [root / "carriers.py", *sorted((root / "np_atobarai").glob("*.py"))]
    offending = [
        f"{path.relative_to(root)}: {name}"
        for path in files
        for name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offending == []
    assert len(files) == 7
