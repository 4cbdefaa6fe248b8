"""Stacked digits: three digits as the three channels of one image, 1,000 modes.

The offline stand-in for Stacked MNIST (Metz et al. 2017; Srivastava et al. 2017; PacGAN):
the label 100a + 10b + c of a sample has 1,000 values, and each appears equally often: 20 train
triples and 5 test triples per mode, each channel a digit image drawn at random from those of
its digit. (Independent uniform draws would leave the 20,000 train triples themselves 0.025 from
uniform in KL, half the 0.05 a generator is asked to reach.) Train triples draw from the digits
train split only and test triples from its test split, so the evaluator never sees a test digit.
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
    """`count` images, count / 1000 of each label 100a + 10b + c in random order; channel k of
    each is an image drawn at random from those of its digit."""
    modes = 10**CHANNELS
    if count % modes:
        raise ValueError(f"stacked digits: {count} triples do not split evenly over {modes} modes")
    stacked_labels = rng.permutation(np.repeat(np.arange(modes), count // modes))
    digit = channel_labels(stacked_labels)  # (count, 3)
    pick = np.empty_like(digit)
    for value in range(10):
        candidates = np.flatnonzero(labels == value)
        if not len(candidates):
            raise ValueError(f"stacked digits: the split holds no image of digit {value}")
        chosen = digit == value
        pick[chosen] = rng.choice(candidates, size=int(chosen.sum()))
    stacked = images[pick, 0]  # (count, 3, H, W)
    return np.ascontiguousarray(stacked, dtype=np.float32), stacked_labels.astype(np.int64)


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
