"""DESIGN.md §2: imports point one way, and ui/eval keep framework types out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "assistant": set(),
    "ingestion": {"assistant"},
    "eval": {"assistant", "ingestion"},
    "ui": {"assistant", "ingestion", "eval"},
}
FRAMEWORKS = {
    "qdrant_client",
    "qdrant_edge",
    "openai",
    "casbin",
    "sqlalchemy",
    "langchain_core",
    "langchain_openai",
    "langchain_qdrant",
    "langchain_text_splitters",
    "langchain",
}
PACKAGES = set(ALLOWED)
# DESIGN.md §2: `ui` reaches `assistant` only through the use-cases and the shared vocabulary;
# it never checks permissions, writes audit rows or opens a store itself.
UI_MAY_USE = {"service", "domain", "language", "errors", "config"}


def imported_modules(path: Path) -> list[str]:
    """Dotted module names imported by one file (`from a import b` counts as `a` and `a.b`
    when `a` is a package of ours, since `b` may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module in PACKAGES:
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def layering_violations(package: str, files: list[Path]) -> list[str]:
    problems = []
    for file in files:
        rel = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
        for name in imported_modules(file):
            top = name.split(".")[0]
            if top in PACKAGES and top != package and top not in ALLOWED[package]:
                problems.append(f"{rel} imports {name} ({package} may not import {top})")
            if package in {"ui", "eval"} and top in FRAMEWORKS and "baselines" not in rel.parts:
                problems.append(f"{rel} imports framework {name} directly")
            layer = name.split(".")[1:2]
            if package == "ui" and top == "assistant" and layer and layer[0] not in UI_MAY_USE:
                problems.append(f"{rel} imports {name} (ui uses assistant.service.* only)")
    return problems


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    assert layering_violations(package, python_files(package)) == []


def test_checker_catches_a_wrong_way_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from ingestion import service\nimport qdrant_client\n", encoding="utf-8")
    assert layering_violations("assistant", [bad]) != []
    assert imported_modules(bad) == ["ingestion", "ingestion.service", "qdrant_client"]
    # ui importing a framework directly is also refused
    assert any("framework" in p for p in layering_violations("ui", [bad]))


def test_ui_reaches_assistant_only_through_the_use_cases(tmp_path: Path) -> None:
    page = tmp_path / "page.py"
    page.write_text(
        "from assistant.service.ask import answer_question\n"
        "from assistant.service import admin\n"
        "from assistant.domain import Principal\n"
        "from assistant.errors import GuideCiteError\n"
        "from assistant.config import get_settings\n",
        encoding="utf-8",
    )
    assert layering_violations("ui", [page]) == []
    for line in (
        "from assistant.access import AccessControl\n",
        "from assistant.audit.log import open_audit_log\n",
        "from assistant import citations\n",
        "import assistant.store\n",
    ):
        page.write_text(line, encoding="utf-8")
        assert layering_violations("ui", [page]) != [], line
