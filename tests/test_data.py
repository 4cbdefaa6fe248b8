"""Prepared data: deterministic to the byte, described by its manifest, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ganpipe.config import Config, DataConfig
from ganpipe.data.prepared import load_prepared
from ganpipe.errors import GanpipeError
from ganpipe.paths import ProjectPaths
from ganpipe.stages import prepare


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_prepare_is_byte_deterministic(tmp_path: Path) -> None:
    first, second = ProjectPaths(tmp_path / "a"), ProjectPaths(tmp_path / "b")
    prepare(Config(), "digits", first)
    prepare(Config(), "digits", second)
    assert _files(first.prepared("digits")) == _files(second.prepared("digits"))


def test_prepare_changes_with_params(tmp_path: Path) -> None:
    prepare(Config(), "digits", ProjectPaths(tmp_path / "a"))
    prepare(Config(data=DataConfig(split_seed=1)), "digits", ProjectPaths(tmp_path / "b"))
    a = np.load(tmp_path / "a/data/prepared/digits/test_y.npy")
    b = np.load(tmp_path / "b/data/prepared/digits/test_y.npy")
    assert a.shape == b.shape and not np.array_equal(np.load(tmp_path / "a/data/prepared/digits/test_x.npy"),
                                                     np.load(tmp_path / "b/data/prepared/digits/test_x.npy"))


def test_digits_manifest_and_ranges(tmp_path: Path) -> None:
    paths = ProjectPaths(tmp_path)
    manifest = prepare(Config(data=DataConfig(image_size=16)), "digits", paths)
    data = load_prepared(paths.prepared("digits"))
    assert manifest["splits"]["train"]["count"] + manifest["splits"]["test"]["count"] == 1797
    assert data.train_x.shape[1:] == (1, 16, 16) and data.train_x.dtype == np.float32
    assert data.train_x.min() == pytest.approx(-1.0) and data.train_x.max() == pytest.approx(1.0)
    assert set(manifest["splits"]["test"]["label_counts"]) == {str(i) for i in range(10)}
    assert json.loads((paths.prepared("digits") / "manifest.json").read_text()) == manifest
    # Polarity: the background (corners) is dark, as in the source images.
    assert data.train_x[:, 0, 0, 0].mean() < -0.9


def test_bundled_digits_read_as_scikit_learn_reads_them() -> None:
    from sklearn.datasets import load_digits

    from ganpipe.data.digits import load_bundled_digits

    pixels, labels = load_bundled_digits()
    reference = load_digits()
    np.testing.assert_array_equal(pixels, reference.images)
    np.testing.assert_array_equal(labels, reference.target)


def test_missing_prepared_dataset_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(GanpipeError, match="no prepared dataset here"):
        load_prepared(tmp_path / "nothing")


def test_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(GanpipeError, match="unknown dataset 'mnist'"):
        prepare(Config(), "mnist", ProjectPaths(tmp_path))


def test_stacked_digits_channels_are_digits_of_the_right_split(tmp_path: Path) -> None:
    from ganpipe.data.stacked import channel_labels

    paths = ProjectPaths(tmp_path)
    config = Config(data=DataConfig(image_size=8))
    prepare(config, "digits", paths)
    prepare(config, "stacked_digits", paths)
    single, stacked = load_prepared(paths.prepared("digits")), load_prepared(paths.prepared("stacked_digits"))
    assert stacked.sample_shape == (3, 8, 8) and stacked.info["modes"] == 1000
    for split, per_mode in (("train", 20), ("test", 5)):  # every mode equally often
        counts = np.bincount(getattr(stacked, f"{split}_y"), minlength=1000)
        assert len(counts) == 1000 and (counts == per_mode).all(), split
    for split in ("train", "test"):
        images, labels = getattr(stacked, f"{split}_x")[:50], getattr(stacked, f"{split}_y")[:50]
        pool_x, pool_y = getattr(single, f"{split}_x")[:, 0], getattr(single, f"{split}_y")
        for image, digits in zip(images, channel_labels(labels)):
            for channel, digit in zip(image, digits):
                match = np.flatnonzero((pool_x == channel).all(axis=(1, 2)))
                assert len(match) and digit in pool_y[match], f"{split}: channel not a {digit} of the {split} split"


def test_translation_tasks_pair_a_with_its_true_mapping(tmp_path: Path) -> None:
    from ganpipe.data.translation import downsample, edge_map

    paths = ProjectPaths(tmp_path)
    config = Config()
    prepare(config, "edges2digits", paths)
    data = load_prepared(paths.prepared("edges2digits"))
    assert data.train_a.shape == data.train_x.shape and data.test_a.shape == data.test_x.shape
    assert np.array_equal(data.train_a, edge_map(data.train_x, None))
    assert np.array_equal(data.test_a, edge_map(data.test_x, None))
    prepare(config, "superres_digits", paths)
    superres = load_prepared(paths.prepared("superres_digits"))
    assert np.array_equal(superres.test_a, downsample(superres.test_x, None))
    # the A image is not the answer: recovering B from it takes the model
    assert np.abs(superres.test_a - superres.test_x).mean() > 0.02


def test_unpaired_twin_draws_a_and_b_from_disjoint_digits(tmp_path: Path) -> None:
    from ganpipe.data.translation import edge_map

    paths = ProjectPaths(tmp_path)
    config = Config()
    prepare(config, "edges2digits", paths)
    prepare(config, "edges2digits_unpaired", paths)
    paired, unpaired = load_prepared(paths.prepared("edges2digits")), load_prepared(paths.prepared("edges2digits_unpaired"))
    assert unpaired.manifest["info"]["paired"] is False
    a_edges = unpaired.train_a.reshape(len(unpaired.train_a), -1)
    b_edges = edge_map(unpaired.train_x, None).reshape(len(unpaired.train_x), -1)
    assert len(a_edges) + len(b_edges) == len(paired.train_x)
    matches = (a_edges[:, None, :] == b_edges[None, :, :]).all(axis=2)
    assert not matches.any()  # no training A has its own B on the other side
    assert np.array_equal(unpaired.test_a, paired.test_a) and np.array_equal(unpaired.test_x, paired.test_x)


def test_translation_prepare_is_byte_deterministic(tmp_path: Path) -> None:
    config = Config()
    first, second = ProjectPaths(tmp_path / "a"), ProjectPaths(tmp_path / "b")
    prepare(config, "inpaint_digits_unpaired", first)
    prepare(config, "inpaint_digits_unpaired", second)
    assert _files(first.prepared("inpaint_digits_unpaired")) == _files(second.prepared("inpaint_digits_unpaired"))
