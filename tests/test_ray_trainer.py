"""The TorchTrainer ganpipe builds: which of Ray Train's default helpers it keeps (no Ray started)."""

from __future__ import annotations

import pytest
from ray.train import RunConfig, ScalingConfig

from ganpipe.distributed import ganpipe_trainer_class


def default_callbacks(tmp_path) -> list[str]:
    trainer = ganpipe_trainer_class()(lambda config: None, train_loop_config={}, scaling_config=ScalingConfig(num_workers=1),
                                      run_config=RunConfig(name="callbacks", storage_path=str(tmp_path)))
    return [type(callback).__name__ for callback in trainer._create_default_callbacks()]


def test_local_runs_start_neither_the_dataset_manager_nor_the_placement_group_cleaner(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    callbacks = default_callbacks(tmp_path)
    assert "DatasetsCallback" not in callbacks and "PlacementGroupCleanerCallback" not in callbacks
    assert {"BackendSetupCallback", "AcceleratorSetupCallback"} <= set(callbacks)  # DDP setup and devices stay


@pytest.mark.parametrize("address", ["10.0.0.1:6379", "ray://head:10001"])
def test_cluster_runs_keep_the_placement_group_cleaner(tmp_path, monkeypatch, address) -> None:
    monkeypatch.setenv("RAY_ADDRESS", address)
    callbacks = default_callbacks(tmp_path)
    assert "PlacementGroupCleanerCallback" in callbacks and "DatasetsCallback" not in callbacks
