"""The champion gate against a real MLflow tracking store (SQLite): better moves it, worse leaves it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganpipe import tracking


@pytest.fixture()
def client(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    client = tracking.connect(tmp_path)
    tracking.ensure_experiment(client, "gate-test", tmp_path)
    return client


def add_version(client, name: str, fid: float) -> str:
    import mlflow

    experiment = client.get_experiment_by_name("gate-test")
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        pass
    if not client.search_registered_models(f"name='{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, source=run.info.artifact_uri, run_id=run.info.run_id).version
    client.set_model_version_tag(name, version, "metric.fid_digits", str(fid))
    return str(version)


def gate(client, name: str, version: str, direction: str = "minimize") -> dict:
    return tracking.champion_gate(client, name, version, "fid_digits", direction, "champion")


def champion(client, name: str) -> str:
    return str(client.get_model_version_by_alias(name, "champion").version)


def test_first_version_becomes_champion_then_only_better_moves_it(client) -> None:
    name = "ganpipe-dcgan-digits"
    v1 = add_version(client, name, 10.0)
    assert gate(client, name, v1)["decision"] == "promoted" and champion(client, name) == v1

    v2 = add_version(client, name, 12.0)
    decision = gate(client, name, v2)
    assert decision["decision"] == "kept" and champion(client, name) == v1
    assert decision["candidate_value"] == 12.0 and decision["champion_value"] == 10.0

    v3 = add_version(client, name, 8.5)
    assert gate(client, name, v3)["decision"] == "promoted" and champion(client, name) == v3
    tags = client.get_model_version(name, v2).tags
    assert tags["gate.decision"] == "kept" and tags["gate.champion_value"] == "10.0"


def test_maximize_direction(client) -> None:
    name = "ganpipe-maximize"
    v1 = add_version(client, name, 1.0)
    gate(client, name, v1, "maximize")
    v2 = add_version(client, name, 2.0)
    assert gate(client, name, v2, "maximize")["decision"] == "promoted" and champion(client, name) == v2
