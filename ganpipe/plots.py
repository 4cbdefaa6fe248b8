"""Pictures a user reads at a glance: sample grids, and samples over the true mixture."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def scatter_over_mixture(samples: np.ndarray, centres: np.ndarray | None, path: Path, title: str = "") -> None:
    """Generated points (blue) over the mixture centres (red): collapse shows as empty centres."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(5, 5), dpi=100)
    axis.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
    if centres is not None:
        axis.scatter(centres[:, 0], centres[:, 1], s=40, marker="x", color="tab:red", label="true modes")
        span = np.abs(centres).max() * 1.4 + 0.2
        axis.set_xlim(-span, span)
        axis.set_ylim(-span, span)
    axis.set_aspect("equal")
    axis.set_title(title)
    axis.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
