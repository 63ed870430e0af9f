"""Imports flow one way: app -> schema -> resolvers -> db, never back."""

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
LAYERS = ["app", "schema", "resolvers", "db"]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_lower_layers(layer: str) -> None:
    allowed = set(LAYERS[LAYERS.index(layer) :])
    violations = {
        str(path.relative_to(PROJECT)): sorted(imported_packages(path) - allowed)
        for path in (PROJECT / layer).rglob("*.py")
        if imported_packages(path) - allowed
    }

    assert violations == {}
