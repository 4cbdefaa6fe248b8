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
from ganpipe.integrations.dvc import track_output
from ganpipe.paths import ProjectPaths


def prepared_folder_info(paths: ProjectPaths, dataset: str) -> dict[str, Any] | None:
    """The `info` of a folder dataset prepared earlier under this name, else None."""
    manifest = paths.prepared(dataset) / "manifest.json"
    if not manifest.is_file():
        return None
    info = json.loads(manifest.read_text()).get("info", {})
    return info if info.get("kind") == "folder" else None


def prepare(config: Config, dataset: str, paths: ProjectPaths, data_dir: str | Path | None = None) -> dict[str, Any]:
    if data_dir is not None:
        return prepare_folder(config, dataset, Path(data_dir), paths)
    if dataset not in DATASETS and (info := prepared_folder_info(paths, dataset)) is not None:
        # A folder dataset is frozen when first prepared; later runs use that copy (its DVC hash).
        return json.loads((paths.prepared(dataset) / "manifest.json").read_text()) | {"reused": info["source_dir"]}
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
    dvc_md5 = track_output(paths.root, paths.prepared(dataset))
    if dvc_md5 is None:
        return manifest
    dvc_file = paths.prepared(dataset).with_name(f"{dataset}.dvc").relative_to(paths.root)
    return manifest | {"dvc_md5": dvc_md5, "dvc_file": str(dvc_file),
                       "next": f"git add {dvc_file} && git commit (and `dvc push` to share the data)"}
