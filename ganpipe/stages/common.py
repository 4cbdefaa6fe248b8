"""Small helpers the stage functions share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    partial.replace(path)


def read_json(path: Path, produced_by: str) -> dict[str, Any]:
    from ganpipe.errors import GanpipeError

    if not path.is_file():
        raise GanpipeError(f"{path}: not found; run `ganpipe {produced_by}` first")
    return json.loads(path.read_text())
