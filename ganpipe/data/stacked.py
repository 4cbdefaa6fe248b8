"""Stacked digits: three digits as the three channels of one image, 1,000 modes.

The offline stand-in for Stacked MNIST (Metz et al. 2017; Srivastava et al. 2017; PacGAN):
each channel is an independent uniformly drawn digit image, so the label 100a + 10b + c
of a sample has 1,000 equally likely values. Train triples draw from the digits train split
only and test triples from its test split, so the evaluator never sees a test digit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganpipe.config import DataConfig
from ganpipe.data import digits

TRAIN_TRIPLES = 20_000
TEST_TRIPLES = 5_000
CHANNELS = 3

DESCRIPTION = "three digits stacked as RGB channels (1,000 modes), the offline Stacked MNIST"


def stack(images: np.ndarray, labels: np.ndarray, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` images whose channel k is images[pick[:, k]]; label = 100a + 10b + c."""
    pick = rng.integers(0, len(images), size=(count, CHANNELS))
    stacked = images[pick, 0]  # (count, 3, H, W)
    place = 10 ** np.arange(CHANNELS - 1, -1, -1)
    return np.ascontiguousarray(stacked, dtype=np.float32), (labels[pick] * place).sum(axis=1).astype(np.int64)


def channel_labels(labels: np.ndarray) -> np.ndarray:
    """(N,) stacked labels -> (N, 3) digit per channel."""
    return np.stack([(labels // 10 ** (CHANNELS - 1 - k)) % 10 for k in range(CHANNELS)], axis=1)


def build(config: DataConfig) -> dict[str, Any]:
    single = digits.build(config)
    rng = np.random.default_rng(config.split_seed + 1)
    train_x, train_y = stack(single["train_x"], single["train_y"], TRAIN_TRIPLES, rng)
    test_x, test_y = stack(single["test_x"], single["test_y"], TEST_TRIPLES, rng)
    return {
        "train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
        "source": single["source"],
        "info": {"kind": "stacked", "channels": CHANNELS, "classes_per_channel": 10, "modes": 10**CHANNELS},
    }
