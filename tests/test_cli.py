"""The CLI's listings and its one-line errors."""

from __future__ import annotations

from pathlib import Path

from ganpipe.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_variants_and_datasets_list_one_line_each(capsys) -> None:
    assert main(["variants"]) == 0
    out = capsys.readouterr().out
    assert "dcgan" in out and "Radford" in out
    assert main(["datasets"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("digits")


def test_unknown_variant_and_dataset(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    params = str(REPO / "params.yaml")
    assert main(["train", "--params", params, "--variant", "stylegan9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ganpipe: error: unknown variant 'stylegan9' (known: gan, dcgan")
    assert len(err.strip().splitlines()) == 1 and "details:" in err
    log = Path(err.rsplit("details: ", 1)[1].rstrip(")\n"))
    assert "Traceback" in log.read_text()
    assert main(["prepare", "--params", params, "--dataset", "mnist"]) == 1
    assert "unknown dataset 'mnist'" in capsys.readouterr().err


def test_sample_errors(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["sample", "--model", "missing.pt", "--out", "x.npy"]) == 1
    assert "missing.pt: no such checkpoint file" in capsys.readouterr().err
    (tmp_path / "corrupt.pt").write_bytes(b"\x00garbage")
    assert main(["sample", "--model", "corrupt.pt", "--out", "x.npy"]) == 1
    assert "corrupt.pt: not a readable checkpoint" in capsys.readouterr().err
    assert main(["sample", "--model", "models:/nope@champion", "--out", "x.npy"]) == 1
    assert "models:/nope@champion: unknown registered model" in capsys.readouterr().err
    assert main(["sample", "--model", "corrupt.pt", "--out", "x.jpg"]) == 1
    assert "expected a .npy or .png" in capsys.readouterr().err


def test_missing_stage_inputs_are_named(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "--params", str(REPO / "params.yaml")]) == 1
    assert "checkpoint.pt: checkpoint not found" in capsys.readouterr().err
