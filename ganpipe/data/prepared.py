"""The prepared-dataset format: plain .npy arrays plus a manifest.json, byte-deterministic.

(`np.savez` is avoided on purpose: its zip entries carry the current time.)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganpipe.errors import GanpipeError

SPLITS = ("train", "test")
FORMAT = "ganpipe-prepared/1"


@dataclass(frozen=True)
class PreparedData:
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    manifest: dict[str, Any]
    # The A domain of an image-to-image task (x is then the B domain); None otherwise.
    train_a: np.ndarray | None = None
    test_a: np.ndarray | None = None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """(C, H, W) for images, (D,) for points."""
        return tuple(int(n) for n in self.train_x.shape[1:])

    @property
    def num_classes(self) -> int:
        """Label classes 0..K-1 of the training split (0 when it has no labels)."""
        return int(self.train_y.max()) + 1 if self.train_y.size else 0

    @property
    def is_image(self) -> bool:
        return len(self.sample_shape) == 3

    @property
    def info(self) -> dict[str, Any]:
        """What the dataset's builder recorded about it (e.g. a mixture's centres and sigma)."""
        return self.manifest.get("info", {})


def array_hash(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def write_prepared(arrays: dict[str, Any], out_dir: Path, dataset: str, params: dict[str, Any]) -> dict[str, Any]:
    """Write the split arrays and manifest into `out_dir`, replacing it only once complete."""
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "dataset": dataset,
        "params": params,
        "source_sha256": array_hash(arrays["source"]),
        "info": arrays.get("info", {}),
        "splits": {},
    }
    for split in SPLITS:
        images, labels = arrays[f"{split}_x"], arrays[f"{split}_y"]
        np.save(staging / f"{split}_x.npy", images)
        np.save(staging / f"{split}_y.npy", labels)
        classes, counts = np.unique(labels, return_counts=True)
        manifest["splits"][split] = {
            "count": int(len(images)),
            "shape": list(images.shape[1:]),
            "label_counts": {str(int(c)): int(n) for c, n in zip(classes, counts)},
            "images_sha256": array_hash(images),
        }
        if (inputs := arrays.get(f"{split}_a")) is not None:
            np.save(staging / f"{split}_a.npy", inputs)
            manifest["splits"][split].update({"a_count": int(len(inputs)), "a_shape": list(inputs.shape[1:]),
                                              "a_sha256": array_hash(inputs)})
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return manifest


def load_prepared(data_dir: Path) -> PreparedData:
    """Load a prepared dataset, with an error naming the missing file."""
    manifest_path = data_dir / "manifest.json"
    if not manifest_path.is_file():
        raise GanpipeError(f"{data_dir}: no prepared dataset here (missing manifest.json); run `ganpipe prepare` first")
    manifest = json.loads(manifest_path.read_text())
    arrays = {}
    for split in SPLITS:
        kinds = ("x", "y", "a") if "a_count" in manifest.get("splits", {}).get(split, {}) else ("x", "y")
        for kind in kinds:
            path = data_dir / f"{split}_{kind}.npy"
            try:
                arrays[f"{split}_{kind}"] = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise GanpipeError(f"{path}: cannot read prepared array ({exc})") from None
    return PreparedData(manifest=manifest, **arrays)
