"""Built-in image-to-image tasks on the digits, each with a known true mapping A -> B.

B is the digit itself (at data.image_size); A is computed from it:
- edges2digits:    A = the digit's edge map (Sobel gradient magnitude), B = the digit;
- inpaint_digits:  A = the digit with a square hidden under grey, B = the whole digit;
- superres_digits: A = the digit at 8x8, blown up blockwise, B = the digit at full size.

Each task has an unpaired twin `<task>_unpaired` (the CycleGAN setting): its training A and B
come from disjoint halves of the training digits, so no A has its own B to learn from; the
test split keeps the true pairs, for scoring against ground truth.

Arrays: `x` is the B domain (what FID and the evaluator look at), `a` the A domain, `y` the
digit label of the B image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganpipe.config import DataConfig
from ganpipe.data import digits

Mapping = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def edge_map(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sobel gradient magnitude of images in [-1, 1], scaled so the strongest edge is 1."""
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = torch.stack([sobel_x, sobel_x.T])[:, None]  # (2, 1, 3, 3)
    ink = (torch.from_numpy(images) + 1) / 2
    gradients = F.conv2d(F.pad(ink, (1, 1, 1, 1), mode="replicate"), kernels)
    magnitude = gradients.pow(2).sum(dim=1, keepdim=True).sqrt()
    magnitude = magnitude / magnitude.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    return (magnitude * 2 - 1).numpy().astype(np.float32)


def occlude(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey square over 3/8 of each side, at a random place inside the image."""
    size = images.shape[-1]
    side = max(1, size * 3 // 8)
    corners = rng.integers(0, size - side + 1, size=(len(images), 2))
    occluded = images.copy()
    for image, (top, left) in zip(occluded, corners):
        image[:, top : top + side, left : left + side] = 0.0
    return occluded


def downsample(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Average-pool to 8x8, then nearest-neighbour back up: the detail above 8x8 is gone."""
    size = images.shape[-1]
    small = F.adaptive_avg_pool2d(torch.from_numpy(images), 8)
    return F.interpolate(small, size=(size, size), mode="nearest").numpy().astype(np.float32)


TASKS: dict[str, tuple[Mapping, str]] = {
    "edges2digits": (edge_map, "edge map -> digit"),
    "inpaint_digits": (occlude, "digit with a grey square hidden -> whole digit"),
    "superres_digits": (downsample, "8x8 digit blown up blockwise -> digit"),
}


def build(task: str, paired: bool, config: DataConfig) -> dict[str, Any]:
    mapping, text = TASKS[task]
    single = digits.build(config)
    rng = np.random.default_rng(config.split_seed + 2)
    train_b, train_y = single["train_x"], single["train_y"]
    train_a = mapping(train_b, rng)
    if not paired:  # A from one half of the training digits, B from the other
        order = rng.permutation(len(train_b))
        half = len(order) // 2
        a_rows, b_rows = np.sort(order[:half]), np.sort(order[half:])
        train_a, train_b, train_y = train_a[a_rows], train_b[b_rows], train_y[b_rows]
    test_b, test_y = single["test_x"], single["test_y"]
    test_a = mapping(test_b, rng)
    return {
        "train_x": np.ascontiguousarray(train_b), "train_y": train_y, "train_a": np.ascontiguousarray(train_a),
        "test_x": test_b, "test_y": test_y, "test_a": test_a,
        "source": single["source"],
        "info": {"kind": "translation", "task": task, "paired": paired, "mapping": text},
    }


def descriptions() -> dict[str, tuple[str, Callable[[DataConfig], dict[str, Any]]]]:
    """name -> (description, builder) for every task and its unpaired twin."""
    entries: dict[str, tuple[str, Callable[[DataConfig], dict[str, Any]]]] = {}
    for task, (_, text) in TASKS.items():
        entries[task] = (f"paired translation on digits: {text}",
                         lambda config, task=task: build(task, True, config))
        entries[f"{task}_unpaired"] = (f"unpaired twin of {task}: A and B from disjoint training digits, true test pairs",
                                       lambda config, task=task: build(task, False, config))
    return entries
