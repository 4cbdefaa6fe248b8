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
    from ganpipe.stages.evaluator import load_evaluator
    from ganpipe.variants import build_variant

    repo = Path(__file__).resolve().parents[1]
    pipeline = PipelineSpec(variant="dcgan", dataset="stacked_digits")
    config = load_config(repo / "params.yaml", [
        "data.image_size=8", "model.z_dim=4", "model.g_width=4", "model.d_width=4", "train.num_workers=1",
        "train.progress=false", "eval.num_samples=300", "eval.evaluator.epochs=1"], pipeline)
    paths = ProjectPaths(tmp_path)
    prepare(config, "stacked_digits", paths)
    assert train_evaluator(config, "stacked_digits", paths)["evaluator_test_accuracy"] > 0.5
    reader = load_evaluator(paths, "stacked_digits")
    assert len(reader.inner.members) == config.eval.evaluator.members == 5  # datasets.stacked_digits reads by ensemble
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


def test_ensemble_reads_the_mean_probability_and_embeds_with_its_first_member() -> None:
    from ganpipe.nets.classifier import ClassifierEnsemble

    torch.manual_seed(0)
    members = [DigitsClassifier(8, 1, feature_dim=6).eval() for _ in range(3)]
    ensemble = ClassifierEnsemble(members).eval()
    images = torch.rand(10, 1, 8, 8) * 2 - 1
    with torch.no_grad():
        mean_probs = torch.stack([m(images).softmax(1) for m in members]).mean(0)
        assert torch.allclose(ensemble(images).exp(), mean_probs, atol=1e-6)
        assert torch.equal(ensemble.features(images), members[0].features(images))
    assert (ensemble.num_features, ensemble.num_classes, ensemble.image_size) == (6, 10, 8)


def test_small_images_reach_4x4_maps_without_interpolating_up() -> None:
    """At 8x8 the last conv maps are 4x4 already: the adaptive pool passes them through."""
    seen = []
    for size in (8, 16):
        classifier = DigitsClassifier(size, 1).eval()
        pool = next(layer for layer in classifier.body if isinstance(layer, torch.nn.AdaptiveAvgPool2d))
        hook = pool.register_forward_hook(lambda module, args, out: seen.append((args[0].shape[-1], out.shape[-1])))
        classifier(torch.zeros(2, 1, size, size))
        hook.remove()
    assert seen == [(4, 4), (4, 4)]


def test_jitter_fills_background_below_16px_and_wraps_above() -> None:
    from ganpipe.evaluator import jitter

    images = torch.arange(16.0).reshape(1, 1, 4, 4)
    down_right = jitter(images, 1, 1, wrap=False)
    assert torch.equal(down_right[0, 0, 1:, 1:], images[0, 0, :3, :3])
    assert (down_right[0, 0, 0] == -1).all() and (down_right[0, 0, :, 0] == -1).all()
    up_left = jitter(images, -1, -1, wrap=False)
    assert torch.equal(up_left[0, 0, :3, :3], images[0, 0, 1:, 1:]) and (up_left[0, 0, 3] == -1).all()
    assert torch.equal(jitter(images, 1, 0, wrap=True), torch.roll(images, (1, 0), (2, 3)))
    assert torch.equal(jitter(images, 0, 0, wrap=False), images)


def test_evaluator_members_train_with_their_own_seeds_and_round_trip(tmp_path) -> None:
    from ganpipe.config import EvaluatorConfig
    from ganpipe.data.prepared import PreparedData
    from ganpipe.evaluator import train_classifier
    from ganpipe.nets.classifier import ClassifierEnsemble

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 1, 8, 8)).astype(np.float32)
    y = np.arange(64) % 4
    data = PreparedData(train_x=x, train_y=y, test_x=x[:16], test_y=y[:16], manifest={"info": {}})
    config = EvaluatorConfig(epochs=1, batch_size=16, members=2, seed=3, lr_schedule="linear_decay")
    ensemble, accuracy = train_classifier(data, config, progress=False)
    single, _ = train_classifier(data, config.model_copy(update={"members": 1, "seed": 4}), progress=False)
    assert isinstance(ensemble, ClassifierEnsemble) and 0.0 <= accuracy <= 1.0
    for a, b in zip(ensemble.members[1].state_dict().values(), single.state_dict().values()):
        assert torch.equal(a, b)  # member k is the single classifier of seed + k
    assert not torch.equal(ensemble.members[0].head.weight, ensemble.members[1].head.weight)


def test_evaluator_checkpoint_errors_name_the_file(tmp_path) -> None:
    from ganpipe.errors import GanpipeError
    from ganpipe.paths import ProjectPaths
    from ganpipe.stages.evaluator import load_evaluator

    paths = ProjectPaths(tmp_path)
    target = paths.evaluator("digits")
    target.parent.mkdir(parents=True)
    old = DigitsClassifier(16, 1, 10)
    # saved before ensembles: one "state_dict"; it still loads where the architecture is unchanged
    torch.save({"state_dict": old.state_dict(), "image_size": 16, "channels": 1, "num_classes": 10}, target)
    loaded = load_evaluator(paths, "digits")
    assert torch.equal(loaded.head.weight, old.head.weight)
    # the same weights declared 8x8: another body, so a clear error rather than a torch traceback
    torch.save({"state_dict": old.state_dict(), "image_size": 8, "channels": 1, "num_classes": 10}, target)
    with pytest.raises(GanpipeError, match=str(target)):
        load_evaluator(paths, "digits")
