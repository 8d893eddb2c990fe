"""The provider SDK layer is pure Python (design.md, "Rules"): no Django, no emulator, and nothing of Kessai's
but the providers package itself and the framework-free text helpers (``kessai.common.text``)."""

from __future__ import annotations

import ast
from pathlib import Path

import kessai.providers

ALLOWED_KESSAI = ("kessai.providers", "kessai.common.text")


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _forbidden(name: str) -> bool:
    if name == "django" or name.startswith("django."):
        return True
    if name == "kessai" or name.startswith("kessai."):
        return not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED_KESSAI)
    return False


def test_every_provider_module_is_pure_python() -> None:
    root = Path(kessai.providers.__file__).parent
    files = sorted(root.rglob("*.py"))
    offending = [
        f"{path.relative_to(root)}: {name}" for path in files for name in imported_modules(path) if _forbidden(name)
    ]

    assert offending == []
    assert {p.parent.name for p in files} >= {"atone", "np_atobarai", "paidy", "gmo_atobarai"}
