"""Do samples look like digits? Judged by models ganpipe never trained.

1. An independent classifier (scikit-learn SVC on the original 8x8 digits) labels each
   sample after it is pooled down to 8x8: all 10 classes should appear at about equal rates.
2. Nearest-neighbour distance from each sample to the real training digits, compared with the
   same distance for held-out real digits: "close" means within the 95th percentile of real ones.

    python bench/digits_quality.py s.npy        # s.npy from `ganpipe sample ... -n 1000 --out s.npy`
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from ganpipe.data.digits import resize_images


def pool_to_8x8(samples: np.ndarray) -> np.ndarray:
    """(N, 1, H, W) in [0, 1] -> (N, 64) in the 0..16 scale of the source digits."""
    n, _, h, w = samples.shape
    factor = h // 8
    pooled = samples[:, 0].reshape(n, 8, factor, 8, factor).mean(axis=(2, 4))
    return pooled.reshape(n, 64) * 16.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", help=".npy of shape (N, 1, H, W) in [0, 1]")
    args = parser.parse_args()

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(digits.data, digits.target, test_size=0.25, random_state=0,
                                                        stratify=digits.target)
    judge = SVC(gamma=0.001).fit(x_train, y_train)
    samples = pool_to_8x8(np.load(args.samples))
    counts = np.bincount(judge.predict(samples), minlength=10)
    frequencies = counts / counts.sum()

    def nearest(points: np.ndarray) -> np.ndarray:
        return np.sqrt(((points[:, None, :] - x_train[None]) ** 2).sum(-1)).min(1)

    # Held-out real digits take the same round trip as samples (resized up as `prepare` does, pooled down).
    size = np.load(args.samples, mmap_mode="r").shape[-1]
    round_trip = pool_to_8x8(np.clip(resize_images((x_test / 16.0).reshape(-1, 1, 8, 8).astype(np.float32), size), 0, 1))
    real_threshold = float(np.percentile(nearest(round_trip), 95))
    close = float((nearest(samples) <= real_threshold).mean())
    report = {
        "judge_test_accuracy": round(float(judge.score(x_test, y_test)), 4),
        "classes_found": int((counts > 0).sum()),
        "class_frequencies": [round(float(f), 3) for f in frequencies],
        "max_over_min_frequency": round(float(frequencies.max() / max(frequencies.min(), 1e-9)), 2),
        "fraction_close_to_real": round(close, 3),
        "closeness_threshold": round(real_threshold, 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
