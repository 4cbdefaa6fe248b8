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
