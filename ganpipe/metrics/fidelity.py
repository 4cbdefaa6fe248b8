"""Fidelity and diversity as separate numbers, on the same features as FID.

- precision / recall (Kynkäänniemi et al. 2019): the share of fakes inside the real
  manifold, and of reals inside the fake manifold, each manifold being the union of k-NN balls;
- density / coverage (Naeem et al. 2020): how many real k-NN balls a fake falls in (averaged
  and divided by k; ~1 for matching distributions), and the share of real balls holding a fake.
Mode collapse shows as high precision/density with low recall/coverage.
"""

from __future__ import annotations

import torch

DEFAULT_K = 5
MAX_SAMPLES = 10_000  # per side; the O(N^2) distances stay cheap on a CPU
CHUNK = 2_048


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point."""
    if len(features) <= k:
        raise ValueError(f"need more than k={k} points for k-NN radii, got {len(features)}")
    radii = [torch.cdist(chunk, features).kthvalue(k + 1, dim=1).values for chunk in features.split(CHUNK)]
    return torch.cat(radii)


def fidelity_metrics(real: torch.Tensor, fake: torch.Tensor, k: int = DEFAULT_K) -> dict[str, float]:
    """Precision, recall, density and coverage of `fake` against `real` (rows are features)."""
    real, fake = real.double(), fake.double()
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)
    balls_holding_fake = torch.zeros(len(fake), dtype=torch.float64)  # per fake: real balls it is in
    real_ball_covered = torch.zeros(len(real), dtype=torch.bool)
    real_in_fake_manifold = torch.zeros(len(real), dtype=torch.bool)
    for start in range(0, len(fake), CHUNK):
        distances = torch.cdist(fake[start : start + CHUNK], real)  # (fakes, reals)
        inside_real_ball = distances <= real_radii[None, :]
        balls_holding_fake[start : start + CHUNK] = inside_real_ball.sum(1)
        real_ball_covered |= inside_real_ball.any(0)
        real_in_fake_manifold |= (distances <= fake_radii[start : start + CHUNK, None]).any(0)
    return {
        "precision": float((balls_holding_fake > 0).double().mean()),
        "recall": float(real_in_fake_manifold.double().mean()),
        "density": float(balls_holding_fake.sum() / (k * len(fake))),
        "coverage": float(real_ball_covered.double().mean()),
    }


def balanced_subsets(real: torch.Tensor, fake: torch.Tensor, seed: int, limit: int = MAX_SAMPLES) -> tuple[torch.Tensor, torch.Tensor]:
    """Equal-sized random subsets of both sides (the metrics depend on the sample sizes)."""
    n = min(len(real), len(fake), limit)
    generator = torch.Generator().manual_seed(seed)
    return (real[torch.randperm(len(real), generator=generator)[:n]],
            fake[torch.randperm(len(fake), generator=generator)[:n]])
