"""The champion gate, promote and rollback against a real MLflow tracking store (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganpipe import tracking
from ganpipe.cli import main
from ganpipe.errors import GanpipeError
from ganpipe.integrations import registry
from ganpipe.integrations.registry import GateRule, judge

FID = GateRule(metric="fid_digits", direction="minimize", margin=0.5,
               guards={"recall": {"direction": "maximize", "tolerance": 0.05}})


@pytest.fixture()
def client(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("{}\n")
    client = tracking.connect(tmp_path)
    tracking.ensure_experiment(client, "gate-test", tmp_path)
    return client


def add_version(client, name: str, rule: GateRule = FID, **metrics: float) -> str:
    """A registered version whose run logged `metrics`, gated like the register stage does."""
    import mlflow

    experiment = client.get_experiment_by_name("gate-test")
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_metrics(metrics)
    if not client.search_registered_models(f"name='{name}'"):
        client.create_registered_model(name)
    version = str(client.create_model_version(name, source=run.info.artifact_uri, run_id=run.info.run_id).version)
    registry.register_challenger(client, name, version, rule)
    return version


def alias(client, name: str, which: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, which).version)
    except MlflowException:
        return None


# --- the rule itself (pure) ---------------------------------------------------------------------

def test_judge_needs_the_margin_and_respects_guards() -> None:
    champion = {"fid_digits": 10.0, "recall": 0.60}
    assert judge(FID, {"fid_digits": 9.0, "recall": 0.60}, champion)[0] is True
    assert judge(FID, {"fid_digits": 9.8, "recall": 0.60}, champion)[0] is False  # better, by less than 0.5
    passed, why = judge(FID, {"fid_digits": 8.0, "recall": 0.50}, champion)
    assert not passed and "guard recall" in why  # better FID, recall 0.10 worse
    assert judge(FID, {"fid_digits": 8.0, "recall": 0.56}, champion)[0] is True  # within tolerance
    assert judge(FID, {"fid_digits": 9.0}, None) == (True, "no champion yet")
    assert judge(FID, {"recall": 1.0}, champion)[0] is False
    psnr = GateRule(metric="psnr", direction="maximize", margin=0.2)
    assert judge(psnr, {"psnr": 20.3}, {"psnr": 20.0})[0] and not judge(psnr, {"psnr": 20.1}, {"psnr": 20.0})[0]


# --- against the store ----------------------------------------------------------------------------

def test_every_version_is_challenger_and_only_a_clear_win_moves_champion(client) -> None:
    name = "ganpipe-dcgan-digits"
    v1 = add_version(client, name, fid_digits=10.0, recall=0.6)
    assert alias(client, name, "champion") == v1 == alias(client, name, "challenger")

    v2 = add_version(client, name, fid_digits=9.8, recall=0.6)  # better by less than the margin
    assert alias(client, name, "challenger") == v2 and alias(client, name, "champion") == v1
    v3 = add_version(client, name, fid_digits=8.0, recall=0.4)  # better primary, guard worse
    assert alias(client, name, "champion") == v1
    tags = client.get_model_version(name, v3).tags
    assert tags["gate.decision"] == "kept" and "guard recall" in tags["gate.reason"]
    assert "guard recall" in client.get_model_version(name, v3).description

    v4 = add_version(client, name, fid_digits=9.0, recall=0.62)  # better by the margin
    assert alias(client, name, "champion") == v4 and alias(client, name, "previous-champion") == v1
    assert client.get_model_version(name, v4).tags["gate.champion_value"] == "10.0"


def test_force_promotes_and_rollback_restores(client) -> None:
    name = "ganpipe-rollback"
    v1 = add_version(client, name, fid_digits=10.0)
    v2 = add_version(client, name, fid_digits=30.0)
    assert registry.apply_gate(client, name, v2)["decision"] == "kept"
    decision = registry.apply_gate(client, name, v2, force=True)
    assert decision["decision"] == "promoted" and decision["reason"].startswith("forced")
    assert alias(client, name, "champion") == v2 and alias(client, name, "previous-champion") == v1

    registry.rollback(client, name)
    assert alias(client, name, "champion") == v1 and alias(client, name, "previous-champion") == v2
    registry.rollback(client, name)  # a second rollback undoes the first
    assert alias(client, name, "champion") == v2


def test_cli_promote_rollback_models(client, capsys) -> None:
    name = "ganpipe-cli"
    v1 = add_version(client, name, fid_digits=10.0)
    v2 = add_version(client, name, fid_digits=12.0)
    assert main(["promote", name, "--version", v2]) == 1
    assert "promote refused" in capsys.readouterr().err and alias(client, name, "champion") == v1
    assert main(["promote", name, "--version", v2, "--force"]) == 0
    assert alias(client, name, "champion") == v2
    assert main(["rollback", name]) == 0 and alias(client, name, "champion") == v1
    capsys.readouterr()
    assert main(["models"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[0]
    assert line.startswith(name) and "versions=2" in line and "champion=v1" in line and "fid_digits=10" in line


@pytest.mark.parametrize("args, message", [
    (["promote", "nobody", "--version", "1"], "no registered model 'nobody'"),
    (["promote", "ganpipe-errors", "--version", "7"], "ganpipe-errors: no version 7 (versions: 1)"),
    (["rollback", "ganpipe-errors"], "no 'previous-champion' alias"),
])
def test_registry_commands_fail_in_one_line(client, capsys, args, message) -> None:
    add_version(client, "ganpipe-errors", fid_digits=1.0)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_unreachable_server_is_named(client, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert main(["models"]) != 0
    assert "MLFLOW_TRACKING_URI=http://127.0.0.1:9: tracking server unreachable" in capsys.readouterr().err


def test_rule_round_trips_and_names_the_metric() -> None:
    from ganpipe.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "params.yaml")
    rule = GateRule.from_config(config.registry, "digits", "dcgan")
    assert rule.metric == "fid_digits" and GateRule.from_json(rule.to_json()) == rule
    with pytest.raises(GanpipeError, match="no gate rule"):
        registry.version_rule(type("V", (), {"tags": {}, "name": "m", "version": "1"})())


def test_translation_is_gated_on_psnr_with_true_pairs_and_on_fid_without() -> None:
    from ganpipe.config import PipelineSpec, load_config

    params = Path(__file__).resolve().parents[1] / "params.yaml"
    for variant in ("pix2pix", "cyclegan"):
        config = load_config(params, [], PipelineSpec(variant=variant, dataset="zebras"))
        paired = GateRule.from_config(config.registry, "zebras", variant)
        assert (paired.metric, paired.direction) == ("psnr", "maximize")
    config = load_config(params, ["registry.guards.ssim.tolerance=0.01", "registry.guards.ssim.direction=maximize"],
                         PipelineSpec(variant="cyclegan", dataset="zebras"))
    unpaired = GateRule.from_config(config.registry, "zebras", "cyclegan", true_pairs=False)
    assert (unpaired.metric, unpaired.direction) == ("fid_zebras", "minimize")
    assert "ssim" not in unpaired.guards and "recall" in unpaired.guards
    # a rule on FID needs no truth: unchanged without pairs
    dcgan = load_config(params, [], PipelineSpec(variant="dcgan", dataset="zebras")).registry
    assert GateRule.from_config(dcgan, "zebras", "dcgan", true_pairs=False) == GateRule.from_config(dcgan, "zebras", "dcgan")


# --- lineage (pure) ------------------------------------------------------------------------------

def test_overrides_against_params_yaml_rebuild_the_effective_config() -> None:
    from ganpipe import lineage
    from ganpipe.config import PipelineSpec, config_to_dict, load_config

    params = Path(__file__).resolve().parents[1] / "params.yaml"
    pipeline = PipelineSpec(variant="wgan_gp", dataset="ring8")
    sets = ["train.steps=40", "train.lr_d=0.0003", "eval.evaluator.epochs=2", "model.spectral_norm=true", "train.lr_schedule=constant"]
    effective = config_to_dict(load_config(params, sets, pipeline))
    baseline = config_to_dict(load_config(params, [], pipeline))
    overrides = lineage.overrides_against(effective, baseline)
    assert sorted(overrides) == sorted(["train.steps=40", "train.lr_d=0.0003", "eval.evaluator.epochs=2",
                                        "model.spectral_norm=true", 'train.lr_schedule="constant"'])
    assert config_to_dict(load_config(params, overrides, pipeline)) == effective
    assert lineage.params_sha256(effective) != lineage.params_sha256(baseline)
    record = lineage.read_tags(lineage.lineage_tags(commit="abc-dirty", variant="wgan_gp", dataset="ring8", data_md5=None,
                                                    manifest_sha256="m", config=effective, overrides=overrides, flow_run_id=None))
    commands = lineage.reproduce_commands(record, {"ring8"})
    assert commands[0] == "git checkout abc" and commands[1].startswith("ganpipe run --variant wgan_gp --dataset ring8 --set ")
    assert lineage.reproduce_commands({**record, "dataset": "shapes"}, {"ring8"})[1] == "dvc pull data/prepared/shapes.dvc"


def test_lineage_of_an_unknown_ref_is_one_line(client, capsys) -> None:
    add_version(client, "m", fid_digits=10.0, recall=0.6)
    for ref, message in (("models:/m@nope", "m has no alias 'nope'"), ("models:/m/7", "m: no version 7"),
                         ("ghost", "no registered model 'ghost'"), ("models:/m/1", "no lineage recorded")):
        assert main(["lineage", ref]) != 0
        assert message in capsys.readouterr().err


# --- the same gate against tracking servers (slow: each starts a server) -------------------------

@pytest.mark.slow
@pytest.mark.parametrize("server", ["mlflow_server", "mlflow_server_on_postgres"])
def test_gate_and_rollback_on_a_tracking_server(server: str, request, tmp_path: Path, monkeypatch) -> None:
    """`mlflow server` over SQLite, and over PostgreSQL: the gate moves champion, rollback restores."""
    uri = request.getfixturevalue(server)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = tracking.connect(tmp_path)
    tracking.ensure_experiment(client, "gate-test", tmp_path)
    name = f"gate-{server.replace('_', '-')}"
    v1 = add_version(client, name, fid_digits=10.0, recall=0.6)
    v2 = add_version(client, name, fid_digits=9.9, recall=0.6)  # better by less than the margin
    v3 = add_version(client, name, fid_digits=8.0, recall=0.6)
    assert (alias(client, name, "champion"), alias(client, name, "challenger")) == (v3, v3)
    assert alias(client, name, "previous-champion") == v1 and v2 == "2"
    registry.rollback(client, name)
    assert alias(client, name, "champion") == v1
