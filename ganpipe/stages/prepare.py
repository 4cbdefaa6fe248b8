"""Stage 1: build a dataset deterministically into data/prepared/<dataset>.

A built-in dataset is generated from params; a folder of the user's images (--data-dir) is
read, resized and frozen into the same format, then tracked by DVC (data/prepared/<name>.dvc):
the run is reproducible from that hash, with or without the original folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganpipe.config import Config, config_to_dict
from ganpipe.data import DATASETS, get_dataset
from ganpipe.data.folders import build_from_folder
from ganpipe.data.prepared import write_prepared
from ganpipe.errors import GanpipeError
from ganpipe.integrations.dvc import track_output, tracked_md5
from ganpipe.paths import ProjectPaths


def _prepared_manifest(paths: ProjectPaths, dataset: str) -> dict[str, Any] | None:
    manifest = paths.prepared(dataset) / "manifest.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else None


def prepared_folder_info(paths: ProjectPaths, dataset: str) -> dict[str, Any] | None:
    """The `info` of a folder dataset prepared earlier under this name, else None."""
    info = (_prepared_manifest(paths, dataset) or {}).get("info", {})
    return info if info.get("kind") == "folder" else None


def prepare(config: Config, dataset: str, paths: ProjectPaths, data_dir: str | Path | None = None) -> dict[str, Any]:
    if data_dir is not None:
        return prepare_folder(config, dataset, Path(data_dir), paths)
    if dataset not in DATASETS:
        # A folder dataset is frozen when first prepared; later runs use that copy (its DVC hash).
        manifest = _prepared_manifest(paths, dataset) or {}
        if manifest.get("info", {}).get("kind") == "folder":
            return manifest | {"reused": manifest["info"]["source_dir"]}
    info = get_dataset(dataset)
    arrays = info.build(config.data)
    return write_prepared(arrays, paths.prepared(dataset), dataset, config_to_dict(config.data))


def prepare_folder(config: Config, dataset: str, data_dir: Path, paths: ProjectPaths) -> dict[str, Any]:
    if dataset in DATASETS:
        raise GanpipeError(f"dataset name '{dataset}' is a built-in dataset's; pass --name to call {data_dir} something else")
    earlier = prepared_folder_info(paths, dataset)
    if earlier is not None and earlier["source_dir"] != str(data_dir.resolve()):
        raise GanpipeError(f"{paths.prepared(dataset)} holds dataset '{dataset}' prepared from {earlier['source_dir']}; "
                           f"pass --name to prepare {data_dir} beside it")
    arrays = build_from_folder(data_dir, config.data)  # every file read (or refused) before anything is written
    manifest = write_prepared(arrays, paths.prepared(dataset), dataset, config_to_dict(config.data))
    dvc_file = track_output(paths.root, paths.prepared(dataset))
    if dvc_file is None:
        return manifest
    dvc_file = dvc_file.relative_to(paths.root)
    return manifest | {"dvc_md5": tracked_md5(paths.root / dvc_file), "dvc_file": str(dvc_file),
                       "next": f"git add {dvc_file} && git commit (and `dvc push` to share the data)"}
