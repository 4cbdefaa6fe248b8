"""2-D Gaussian mixtures, the standard mode-collapse benchmarks (VEEGAN, PacGAN protocols).

- ring8: 8 Gaussians on the unit circle, centres (cos 2*pi*i/8, sin 2*pi*i/8), sigma 0.01;
- grid25: 25 Gaussians at (-4 + 2i, -4 + 2j), i, j in 0..4, sigma 0.05.
Points are stored in data coordinates; labels are component indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganpipe.config import DataConfig

TRAIN_POINTS = 50_000
TEST_POINTS = 2_500


def ring8_centres() -> np.ndarray:
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid25_centres() -> np.ndarray:
    return np.array([(-4.0 + 2 * i, -4.0 + 2 * j) for i in range(5) for j in range(5)])


def sample_mixture(centres: np.ndarray, sigma: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, len(centres), size=n)
    points = centres[labels] + sigma * rng.standard_normal((n, centres.shape[1]))
    return points.astype(np.float32), labels.astype(np.int64)


def _build(centres: np.ndarray, sigma: float, config: DataConfig) -> dict[str, Any]:
    rng = np.random.default_rng(config.split_seed)
    train_x, train_y = sample_mixture(centres, sigma, TRAIN_POINTS, rng)
    test_x, test_y = sample_mixture(centres, sigma, TEST_POINTS, rng)
    return {
        "train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
        "source": np.concatenate([centres.ravel(), [sigma]]).astype(np.float64),
        "info": {"kind": "mixture", "centres": centres.tolist(), "sigma": sigma},
    }


RING8_DESCRIPTION = "8 Gaussians on the unit circle, sigma 0.01 (PacGAN's setting), 2-D points"
GRID25_DESCRIPTION = "25 Gaussians on a 5x5 grid with spacing 2, sigma 0.05, 2-D points"


def build_ring8(config: DataConfig) -> dict[str, Any]:
    return _build(ring8_centres(), 0.01, config)


def build_grid25(config: DataConfig) -> dict[str, Any]:
    return _build(grid25_centres(), 0.05, config)
