"""The primary metric on a small sample, scored during training every `eval.every` steps.

A GAN's last step is often not its best: the train stage keeps the checkpoint whose probe
score is best, and the scores over steps are the curve it logs. The probe is built on the
driver (it carries the real test subset and, for images, the evaluator network) and scored
on rank 0 of the Ray workers; it draws with its own seeded generator, so training draws the
same random numbers with or without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from ganpipe.loop import Callback, unwrap

Direction = Literal["minimize", "maximize"]


@dataclass
class Probe:
    metric: str  # the registry's primary metric, e.g. fid_digits, psnr, mode_score
    direction: Direction
    kind: Literal["images", "mixture", "translation"]
    num_samples: int
    seed: int
    # The arrays arrive read-only from Ray's object store: they become tensors by torch.tensor (a copy).
    real: np.ndarray | None = None  # test images (B images for translation)
    inputs: np.ndarray | None = None  # translation: the test A images paired with `real`
    classifier: nn.Module | None = None  # images: the evaluator whose features FID uses
    centres: np.ndarray | None = None  # mixtures
    sigma: float = 0.0

    def better(self, score: float, best: float | None) -> bool:
        if best is None:
            return True
        return score < best if self.direction == "minimize" else score > best

    @torch.no_grad()
    def score(self, variant, G: nn.Module) -> dict[str, float]:
        """Probe metrics for generator G (restored to its train/eval mode afterwards)."""
        from ganpipe.sampling import generate, translate

        was_training = G.training
        try:
            if self.kind == "translation":
                return self._translation(translate(variant, G, torch.tensor(self.inputs)))
            labels = torch.arange(self.num_samples) % variant.data.num_classes if variant.conditional else None
            fake = generate(variant, G, self.num_samples, self.seed, labels=labels)
            if self.kind == "mixture":
                from ganpipe.metrics.modes import mode_metrics

                return {key: float(value) for key, value in mode_metrics(fake.numpy(), self.centres, self.sigma).items()
                        if value is not None}
            from ganpipe.metrics.fid import classifier_fid

            return {self.metric: classifier_fid(self.classifier, torch.tensor(self.real), fake)}
        finally:
            G.train(was_training)

    def _translation(self, outputs: torch.Tensor) -> dict[str, float]:
        from ganpipe.metrics.fid import classifier_fid
        from ganpipe.metrics.translation import paired_scores

        truth = torch.tensor(self.real)
        scores: dict[str, float] = {}
        if outputs.shape == truth.shape:
            scores.update(paired_scores(outputs, truth))
        if self.classifier is not None:
            scores[self.metric if self.metric.startswith("fid") else "fid"] = classifier_fid(self.classifier, truth, outputs)
        return scores


def build_probe(data, classifier: nn.Module | None, metric: str, direction: Direction, num_samples: int,
                seed: int, translates: bool) -> Probe:
    """A probe on the first `num_samples` test rows (the same rows every time)."""
    rows = slice(0, num_samples)
    if translates:
        paired = data.info.get("paired_test", True)
        return Probe(metric, direction, "translation", num_samples, seed, real=np.array(data.test_x[rows]),
                     inputs=np.array(data.test_a[rows]), classifier=None if paired else classifier)
    if data.info.get("kind") == "mixture":
        return Probe(metric, direction, "mixture", num_samples, seed, centres=np.asarray(data.info["centres"]),
                     sigma=float(data.info["sigma"]))
    return Probe(metric, direction, "images", num_samples, seed, real=np.array(data.test_x[rows]), classifier=classifier)


class BestProbedCheckpoint(Callback):
    """A training-loop callback for rank 0: every `every` steps and at the last step, score the
    probe, append to `curve`, and keep the best step's checkpoint serialized in `best_bytes`
    (the live tensors keep training). Resumable: `state_dict()` / `load_state_dict()`."""

    def __init__(self, probe: Probe, every: int, last_step: int, make_checkpoint) -> None:
        self.probe, self.every, self.last_step, self.make_checkpoint = probe, every, last_step, make_checkpoint
        self.curve: list[dict[str, float]] = []
        self.best_score: float | None = None
        self.best_step: int | None = None
        self.best_bytes: bytes | None = None

    def on_step(self, state, stats: dict[str, float]) -> None:
        import io

        from ganpipe.sampling import sampling_net

        if state.step % self.every and state.step != self.last_step:
            return
        scores = self.probe.score(state.variant, unwrap(sampling_net(state.nets)))
        self.curve.append({"step": state.step, **scores})
        score = scores.get(self.probe.metric)
        if score is not None and self.probe.better(score, self.best_score):
            self.best_score, self.best_step = score, state.step
            buffer = io.BytesIO()
            torch.save(self.make_checkpoint(state), buffer)
            self.best_bytes = buffer.getvalue()

    def state_dict(self) -> dict:
        return {"curve": self.curve, "best_score": self.best_score, "best_step": self.best_step}

    def load_state_dict(self, saved: dict, best_bytes: bytes | None) -> None:
        self.curve = list(saved.get("curve", []))
        self.best_score, self.best_step = saved.get("best_score"), saved.get("best_step")
        self.best_bytes = best_bytes
