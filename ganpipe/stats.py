"""Collectors the training loop reports to: a loss log (JSON lines) and a progress bar.

The core never imports a tracker; MLflow and DVC plots read the loss log afterwards.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from ganpipe.loop import Callback, TrainingState


class LossLog(Callback):
    """Averages each stat over `every` steps and keeps one record per interval.

    A stat only some steps report (a lazy penalty) is averaged over the steps that reported it.
    """

    def __init__(self, every: int) -> None:
        self.every = every
        self.records: list[dict[str, float]] = []
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)

    def on_step(self, state: TrainingState, stats: dict[str, float]) -> None:
        for name, value in stats.items():
            self._sums[name] += value
            self._counts[name] += 1
        if state.step % self.every == 0:
            self.records.append({"step": state.step, **{k: v / self._counts[k] for k, v in self._sums.items()}})
            self._sums.clear()
            self._counts.clear()

    def save(self, path: Path) -> None:
        path.write_text("".join(json.dumps(record) + "\n" for record in self.records))

    def load(self, path: Path) -> None:
        self.records = read_loss_log(path) if path.is_file() else []


def read_loss_log(path: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_curve_csv(path: Path) -> list[dict[str, float]]:
    """A CSV that write_loss_csv wrote, back as records (empty cells left out)."""
    import csv

    with path.open(newline="") as handle:
        return [{key: float(value) for key, value in row.items() if value != ""} for row in csv.DictReader(handle)]


def write_loss_csv(records: list[dict[str, float]], path: Path) -> None:
    """The loss log as CSV (step first, one column per stat), the format DVC plots read."""
    import csv

    columns = ["step", *sorted({key for record in records for key in record} - {"step"})]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="", lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({key: (f"{value:.6g}" if key != "step" else int(value)) for key, value in record.items()})


class ProgressBar(Callback):
    def __init__(self, total: int, initial: int = 0, desc: str = "train") -> None:
        self.bar = tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True, mininterval=1.0)

    def on_step(self, state: TrainingState, stats: dict[str, float]) -> None:
        self.bar.update(1)
        if state.step % 10 == 0:
            self.bar.set_postfix({k.split("/")[-1] if k.startswith("loss/") else k: f"{v:.3f}" for k, v in stats.items() if k.startswith("loss/")})

    def close(self) -> None:
        self.bar.close()


class Throughput(Callback):
    """Images (or points) per second over the steps after the first `warmup` this run took,
    counting the global batch (every worker's share)."""

    def __init__(self, global_batch: int, warmup: int = 5) -> None:
        self.global_batch = global_batch
        self.warmup = warmup
        self._seen = 0
        self._started: float | None = None
        self._timed_steps = 0
        self._elapsed = 0.0

    def on_step(self, state: TrainingState, stats: dict[str, float]) -> None:
        self._seen += 1
        now = time.perf_counter()
        if self._started is None:
            if self._seen == self.warmup:
                self._started = now
            return
        self._timed_steps += 1
        self._elapsed = now - self._started

    @property
    def images_per_s(self) -> float:
        """0.0 until a step after the warm-up has been timed."""
        return self._timed_steps * self.global_batch / self._elapsed if self._elapsed else 0.0
