"""scikit-learn's bundled 8x8 digits (1,797 images, no download), resized and scaled to [-1, 1]."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganpipe.config import DataConfig
from ganpipe.errors import GanpipeError

DESCRIPTION = "scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes), resized"


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic per-class split: the same labels, fraction and seed give the same indices."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        n_test = int(round(len(members) * test_fraction))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """(N, C, h, w) float -> (N, C, size, size), bilinear (deterministic on CPU)."""
    if images.shape[-1] == size:
        return images.astype(np.float32)
    resized = F.interpolate(torch.from_numpy(images), size=(size, size), mode="bilinear", align_corners=False)
    return resized.numpy().astype(np.float32)


def load_bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits file, read as `sklearn.datasets.load_digits` reads it: (N, 8, 8) pixel
    values 0..16 and (N,) labels. Read directly because importing sklearn.datasets costs ~2 s."""
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise GanpipeError(f"scikit-learn's bundled digits file not found ({path}): is scikit-learn installed?")
    with gzip.open(path, "rt") as stream:
        table = np.loadtxt(stream, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)


def build(config: DataConfig) -> dict[str, np.ndarray]:
    pixels, labels = load_bundled_digits()
    images = (pixels.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8), ink = 1
    images = np.clip(resize_images(images, config.image_size), 0.0, 1.0) * 2.0 - 1.0
    train_idx, test_idx = stratified_split(labels, config.test_fraction, config.split_seed)
    return {
        "train_x": images[train_idx], "train_y": labels[train_idx],
        "test_x": images[test_idx], "test_y": labels[test_idx],
        "source": np.ascontiguousarray(pixels.astype(np.float32)),
    }
