"""Where every stage reads and writes, relative to the project root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    root: Path

    def prepared(self, dataset: str) -> Path:
        return self.root / "data" / "prepared" / dataset

    def evaluator(self, dataset: str) -> Path:
        return self.root / "outputs" / "evaluators" / dataset / "classifier.pt"

    def evaluator_metrics(self, dataset: str) -> Path:
        return self.root / "metrics" / f"evaluator-{dataset}.json"

    def train_dir(self, pipeline: str) -> Path:
        return self.root / "outputs" / pipeline / "train"

    def checkpoint(self, pipeline: str) -> Path:
        return self.train_dir(pipeline) / "checkpoint.pt"

    def last_checkpoint(self, pipeline: str) -> Path:
        """The final step's state, when `checkpoint.pt` holds the best probed step instead."""
        return self.train_dir(pipeline) / "last.pt"

    def probe_curve(self, pipeline: str) -> Path:
        return self.root / "metrics" / "probe" / f"{pipeline}.csv"

    def losses(self, pipeline: str) -> Path:
        return self.train_dir(pipeline) / "losses.jsonl"

    def loss_curve(self, pipeline: str) -> Path:
        return self.root / "metrics" / "losses" / f"{pipeline}.csv"

    @property
    def ray_storage(self) -> Path:
        return self.root / "outputs" / "ray"

    def eval_dir(self, pipeline: str) -> Path:
        return self.root / "outputs" / pipeline / "eval"

    def metrics(self, pipeline: str) -> Path:
        return self.root / "metrics" / f"{pipeline}.json"

    def registration(self, pipeline: str) -> Path:
        return self.root / "outputs" / pipeline / "registration.json"

    @property
    def logs(self) -> Path:
        return self.root / "outputs" / "logs"
