"""The FID path agrees with a reference numpy/scipy Frechet distance on the same features."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from ganpipe.metrics.fid import ClassifierFeatures, classifier_fid, classifier_inception_score
from ganpipe.nets.classifier import DigitsClassifier
from ganpipe.stages.evaluate import class_histogram_metrics


def reference_fid(real: np.ndarray, fake: np.ndarray) -> float:
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_matches_numpy_scipy_reference() -> None:
    torch.manual_seed(0)
    classifier = DigitsClassifier(16, 1, feature_dim=12).eval()
    real = torch.rand(600, 1, 16, 16) * 2 - 1
    fake = (torch.rand(600, 1, 16, 16) * 2 - 1) * 0.5 + 0.2
    ours = classifier_fid(classifier, real, fake, batch_size=128)
    features = ClassifierFeatures(classifier)
    expected = reference_fid(features(real).double().numpy(), features(fake).double().numpy())
    assert ours == pytest.approx(expected, rel=1e-3)
    assert classifier_fid(classifier, real, real) == pytest.approx(0.0, abs=1e-2)


def test_inception_score_bounds_and_seed() -> None:
    torch.manual_seed(0)
    classifier = DigitsClassifier(16, 1).eval()
    images = torch.rand(200, 1, 16, 16) * 2 - 1
    first = classifier_inception_score(classifier, images, seed=1)
    assert 1.0 <= first[0] <= 10.0
    assert classifier_inception_score(classifier, images, seed=1) == first


def test_class_histogram_metrics() -> None:
    uniform = class_histogram_metrics(torch.arange(10).repeat(5), 10)
    assert uniform == {"classes_covered": 10, "class_kl": pytest.approx(0.0)}
    collapsed = class_histogram_metrics(torch.zeros(50, dtype=torch.long), 10)
    assert collapsed["classes_covered"] == 1 and collapsed["class_kl"] == pytest.approx(np.log(10))


def test_fidelity_metrics_hand_computed() -> None:
    from ganpipe.metrics.fidelity import fidelity_metrics

    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])  # 1-NN radii: 1 each
    fake = torch.tensor([[0.5], [10.0]])  # 1-NN radii: 9.5 each
    assert fidelity_metrics(real, fake, k=1) == {
        "precision": 0.5,  # 0.5 lies in the balls of 0 and 1; 10 in none
        "recall": 1.0,  # every real lies within 9.5 of 0.5
        "density": 1.0,  # (2 + 0) balls / (k * 2 fakes)
        "coverage": 0.5,  # the balls of 0 and 1 hold a fake
    }


def test_fidelity_metrics_tell_collapse_from_coverage() -> None:
    from ganpipe.metrics.fidelity import balanced_subsets, fidelity_metrics

    generator = torch.Generator().manual_seed(0)
    real = torch.randn(800, 8, generator=generator)
    matching = fidelity_metrics(real[:400], real[400:])
    collapsed = fidelity_metrics(real[:400], real[400:401].repeat(400, 1) + 0.01 * torch.randn(400, 8, generator=generator))
    assert matching["recall"] > 0.8 and matching["coverage"] > 0.8 and 0.7 < matching["density"] < 1.3
    assert collapsed["recall"] < 0.05 and collapsed["coverage"] < 0.05
    small_real, small_fake = balanced_subsets(real, real[:100], seed=0)
    assert len(small_real) == len(small_fake) == 100


def test_channelwise_classifier_reads_channels_as_digits() -> None:
    from ganpipe.nets.classifier import ChannelwiseClassifier

    torch.manual_seed(0)
    inner = DigitsClassifier(8, 1, feature_dim=6).eval()
    stacked = ChannelwiseClassifier(inner, channels=3).eval()
    images = torch.rand(20, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        per_channel = torch.stack([inner(images[:, k : k + 1]).argmax(1) for k in range(3)], 1)
        joint = stacked(images)
        features = stacked.features(images)
    assert joint.shape == (20, 1000) and stacked.num_classes == 1000
    assert torch.equal(joint.argmax(1), per_channel[:, 0] * 100 + per_channel[:, 1] * 10 + per_channel[:, 2])
    assert torch.allclose(joint.exp().sum(1), torch.ones(20, dtype=joint.dtype), atol=1e-5)
    assert features.shape == (20, 18)
    with torch.no_grad():
        assert torch.allclose(features[:, 6:12], inner.features(images[:, 1:2]), atol=1e-6)


def test_evaluate_on_stacked_digits_counts_modes_of_1000(tmp_path) -> None:
    """prepare -> per-channel evaluator -> evaluate, without Ray: the stacked metrics are wired."""
    from pathlib import Path

    from ganpipe.checkpoint import make_checkpoint, save_checkpoint
    from ganpipe.config import PipelineSpec, load_config
    from ganpipe.loop import TrainingState
    from ganpipe.paths import ProjectPaths
    from ganpipe.stages import evaluate, prepare, train_evaluator
    from ganpipe.variants import build_variant

    repo = Path(__file__).resolve().parents[1]
    pipeline = PipelineSpec(variant="dcgan", dataset="stacked_digits")
    config = load_config(repo / "params.yaml", [
        "data.image_size=8", "model.z_dim=4", "model.g_width=4", "model.d_width=4", "train.num_workers=1",
        "train.progress=false", "eval.num_samples=300", "eval.evaluator.epochs=1"], pipeline)
    paths = ProjectPaths(tmp_path)
    prepare(config, "stacked_digits", paths)
    assert train_evaluator(config, "stacked_digits", paths)["evaluator_test_accuracy"] > 0.5
    torch.manual_seed(0)
    variant = build_variant("dcgan", config, (3, 8, 8))
    nets = variant.build_nets()
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    paths.checkpoint(pipeline.name).parent.mkdir(parents=True)
    save_checkpoint(make_checkpoint(state, config, pipeline), paths.checkpoint(pipeline.name))
    metrics = evaluate(config, pipeline, paths)
    assert metrics["modes_total"] == 1000 and 1 <= metrics["modes_covered"] <= 300
    assert metrics["mode_kl"] > 0 and "classes_covered" not in metrics
    assert {"fid_stacked_digits", "precision", "recall", "density", "coverage"} <= set(metrics)
