"""Stage 1: build a built-in dataset deterministically into data/prepared/<dataset>."""

from __future__ import annotations

from typing import Any

from ganpipe.config import Config, config_to_dict
from ganpipe.data import get_dataset
from ganpipe.data.prepared import write_prepared
from ganpipe.paths import ProjectPaths


def prepare(config: Config, dataset: str, paths: ProjectPaths) -> dict[str, Any]:
    info = get_dataset(dataset)
    arrays = info.build(config.data)
    return write_prepared(arrays, paths.prepared(dataset), dataset, config_to_dict(config.data))
