"""The torch-only core imports no orchestrator or tracker; only the edge modules do."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ganpipe.errors import GanpipeError
from ganpipe.metrics.fid import inception_metrics

PACKAGE = Path(__file__).resolve().parents[1] / "ganpipe"
EDGE = {"cli.py", "distributed.py", "tracking.py", "stages", "integrations"}
FORBIDDEN = {"prefect", "mlflow", "dvc", "ray"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_imports_no_orchestrator_or_tracker() -> None:
    core = [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in EDGE]
    assert len(core) > 10
    leaks = {str(p.relative_to(PACKAGE)): imported_roots(p) & FORBIDDEN for p in core}
    assert {path: mods for path, mods in leaks.items() if mods} == {}


def test_missing_inception_weights_names_the_key(tmp_path: Path) -> None:
    import torch

    images = torch.zeros(2, 1, 8, 8)
    with pytest.raises(GanpipeError, match="eval.inception_weights=.*absent.pth.*file not found"):
        inception_metrics(tmp_path / "absent.pth", images, images, seed=0)
