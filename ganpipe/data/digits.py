"""scikit-learn's bundled 8x8 digits (1,797 images, no download), resized and scaled to [-1, 1]."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganpipe.config import DataConfig

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


def build(config: DataConfig) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8), ink = 1
    images = np.clip(resize_images(images, config.image_size), 0.0, 1.0) * 2.0 - 1.0
    labels = bunch.target.astype(np.int64)
    train_idx, test_idx = stratified_split(labels, config.test_fraction, config.split_seed)
    return {
        "train_x": images[train_idx], "train_y": labels[train_idx],
        "test_x": images[test_idx], "test_y": labels[test_idx],
        "source": np.ascontiguousarray(bunch.images.astype(np.float32)),
    }
