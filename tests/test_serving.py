"""The registered model's pyfunc flavour, in process and behind `mlflow models serve` on loopback."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import invoke, model_server
from ganpipe import tracking
from ganpipe.integrations import serving
from ganpipe.checkpoint import make_checkpoint, save_checkpoint
from ganpipe.config import PipelineSpec, load_config
from ganpipe.loop import TrainingState
from ganpipe.variants import build_variant

REPO = Path(__file__).resolve().parents[1]
TINY = ["data.image_size=16", "model.z_dim=16", "model.g_width=8", "model.d_width=8"]


def register_untrained(root: Path, variant_name: str, dataset: str, num_classes: int = 10) -> str:
    """An untrained tiny model registered in a SQLite store under `root`, as the register stage logs it."""
    import mlflow

    pipeline = PipelineSpec(variant=variant_name, dataset=dataset)
    config = load_config(REPO / "params.yaml", TINY, pipeline)
    variant = build_variant(variant_name, config, [1, 16, 16], num_classes, [1, 16, 16] if dataset != "digits" else None)
    nets = variant.build_nets()
    checkpoint = root / f"{variant_name}.pt"
    save_checkpoint(make_checkpoint(TrainingState(variant, nets, variant.build_optimizers(nets, config.train)), config, pipeline), checkpoint)
    client = tracking.connect(root)
    with mlflow.start_run(experiment_id=tracking.ensure_experiment(client, "serving", root)):
        serving.log_model(checkpoint, variant, tracking.MODEL_ARTIFACT, f"serve-{variant_name}")
    return f"models:/serve-{variant_name}/1"


def png_base64(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def decode(encoded: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serving-store")


def test_conditional_generator_takes_labels_and_refuses_bad_rows(store: Path) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException

    model = mlflow.pyfunc.load_model(register_untrained(store, "cgan", "digits"))
    out = model.predict(pd.DataFrame([{"seed": 5, "label": 3}, {"seed": 5, "label": 3}, {"seed": 5, "label": 4}]))
    assert out["image"][0] == out["image"][1] != out["image"][2]
    assert decode(out["image"][0]).shape == (16, 16)
    for rows, message in (([{"seed": 1, "label": 10}], "label 10 outside 0..9"),
                          ([{"seed": 1.5}], "'seed' must be an integer"),
                          ([{"label": 1}], "seed")):
        with pytest.raises(MlflowException, match=message):
            model.predict(pd.DataFrame(rows))


def test_translator_rows_and_direction_errors(store: Path) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException

    model = mlflow.pyfunc.load_model(register_untrained(store, "pix2pix", "edges2digits"))
    image = png_base64(np.random.default_rng(0).integers(0, 255, (24, 40), dtype=np.uint8))  # resized to 16x16
    out = model.predict(pd.DataFrame([{"image": image}]), params={"return_array": True})
    assert decode(out["image"][0]).shape == (16, 16)
    assert np.asarray(out["array"][0]).shape == (1, 16, 16)
    with pytest.raises(MlflowException, match="not valid base64"):
        model.predict(pd.DataFrame([{"image": "%%%"}]))
    with pytest.raises(MlflowException, match="row 0 'image': not a readable image"):
        model.predict(pd.DataFrame([{"image": base64.b64encode(b"\x89PNG truncated").decode()}]))
    with pytest.raises(MlflowException, match="translates A to B only"):
        model.predict(pd.DataFrame([{"image": image}]), params={"direction": "BtoA"})


@pytest.mark.slow
def test_served_generator_answers_seed_rows(pipeline_project: Path, tmp_path: Path) -> None:
    """The acceptance rows: {"seed": 0}, {"seed": 1}, {"seed": 0} -> three images, first == third."""
    uri = f"sqlite:///{pipeline_project / 'mlflow.db'}"
    with model_server("models:/ganpipe-dcgan-digits@champion", uri, tmp_path / "serve.log") as url:
        status, body = invoke(url, {"dataframe_records": [{"seed": 0}, {"seed": 1}, {"seed": 0}]})
        assert status == 200, body
        images = [row["image"] for row in body["predictions"]]
        assert len(images) == 3 and images[0] == images[2] != images[1]
        assert decode(images[0]).shape == (16, 16)
        status, body = invoke(url, {"dataframe_records": [{"seed": 0}], "params": {"return_array": True}})
        array = np.asarray(body["predictions"][0]["array"])
        assert array.shape == (1, 16, 16) and 0 <= array.min() and array.max() <= 1
        assert np.abs(np.round(array[0] * 255) - decode(images[0])).max() <= 1  # the PNG is the array, 8-bit
        status, body = invoke(url, {"dataframe_records": [{"seed": 0, "label": 1}]})
        assert status == 400 and "not conditional" in body["message"]


@pytest.mark.slow
def test_served_translator_answers_png_rows(store: Path, tmp_path: Path) -> None:
    ref = register_untrained(store, "cyclegan", "edges2digits_unpaired")
    first, second = (png_base64(np.random.default_rng(seed).integers(0, 255, (16, 16), dtype=np.uint8)) for seed in (0, 1))
    with model_server(ref, f"sqlite:///{store / 'mlflow.db'}", tmp_path / "serve.log") as url:
        status, body = invoke(url, {"dataframe_records": [{"image": first}, {"image": second}, {"image": first}]})
        assert status == 200, body
        images = [row["image"] for row in body["predictions"]]
        assert images[0] == images[2] != images[1]
        status, back = invoke(url, {"dataframe_records": [{"image": first}], "params": {"direction": "BtoA"}})
        assert status == 200 and back["predictions"][0]["image"] != images[0]  # G_BA, not G_AB
