"""The registered model's pyfunc flavour: what `mlflow models serve` answers at /invocations.

One output row per input row:
- generators take `{"seed": int}` (and `"label": int` for conditional ones) and return the
  sample `ganpipe sample --seed S -n 1` would draw: the same seed, the same image;
- translators take `{"image": base64 PNG/JPEG}` and return the translated image.
Each output row has `image` (a base64 PNG; absent for 2-D point models) and, with the request
param `return_array: true` (always for points), `array`: images in [0, 1] as (C, H, W), points
in data coordinates. Translators also take the param `direction: AtoB | BtoA` (CycleGAN).
"""

from __future__ import annotations

import base64
import binascii
import io
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

CHECKPOINT_ARTIFACT = "checkpoint"
# What the served model imports; pinned to the versions that trained it.
RUNTIME_PACKAGES = ("torch", "numpy", "pandas", "pillow", "pydantic", "pyyaml", "mlflow")


def bad_request(message: str) -> MlflowException:
    """An error the scoring server returns as HTTP 400 with `message`."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class GanpipeModel(PythonModel):
    """Loads the ganpipe checkpoint logged beside it; predicts one image per request row."""

    def load_context(self, context) -> None:
        from ganpipe.checkpoint import load_checkpoint, variant_from_checkpoint
        from ganpipe.sampling import sampling_net

        self.variant, self.nets = variant_from_checkpoint(load_checkpoint(Path(context.artifacts[CHECKPOINT_ARTIFACT])))
        self.G = sampling_net(self.nets).eval()

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        import torch

        params = params or {}
        rows = model_input.to_dict(orient="records") if isinstance(model_input, pd.DataFrame) else list(model_input)
        if not rows:
            raise bad_request("no rows: send dataframe_records like [{\"seed\": 0}]")
        with torch.no_grad():
            if self.variant.translates:
                outputs = [self._translate(row, index, str(params.get("direction") or "AtoB")) for index, row in enumerate(rows)]
            else:
                outputs = [self._generate(row, index) for index, row in enumerate(rows)]
        return pd.DataFrame([self._encode(output, bool(params.get("return_array"))) for output in outputs])

    def _generate(self, row: dict[str, Any], index: int):
        import torch

        from ganpipe.sampling import generate

        seed = _integer(row, "seed", index)
        if seed is None:
            raise bad_request(f"row {index}: 'seed' is required (an integer)")
        labels = None
        label = _integer(row, "label", index)
        if label is not None:
            if not self.variant.conditional:
                raise bad_request(f"row {index}: 'label' given, but a {self.variant.name} model is not conditional")
            if not 0 <= label < self.variant.data.num_classes:
                raise bad_request(f"row {index}: label {label} outside 0..{self.variant.data.num_classes - 1}")
            labels = torch.tensor([label])
        return generate(self.variant, self.G, 1, seed, labels=labels)[0]

    def _translate(self, row: dict[str, Any], index: int, direction: str):
        from ganpipe.errors import GanpipeError
        from ganpipe.imageio import decode_image

        if direction == "BtoA":
            if "G_BA" not in self.nets:
                raise bad_request(f"direction BtoA: a {self.variant.name} model translates A to B only")
            G, shape = self.nets["G_BA"], self.variant.data.shape
        elif direction == "AtoB":
            G, shape = self.G, self.variant.data.input_shape
        else:
            raise bad_request(f"direction {direction!r}: expected AtoB or BtoA")
        encoded = row.get("image")
        if not isinstance(encoded, str) or not encoded:
            raise bad_request(f"row {index}: 'image' is required (a base64-encoded PNG or JPEG)")
        try:
            raw = base64.b64decode(encoded, validate=True)
            image = decode_image(io.BytesIO(raw), shape[0], shape[-1], f"row {index} 'image'")
        except binascii.Error:
            raise bad_request(f"row {index}: 'image' is not valid base64") from None
        except GanpipeError as exc:
            raise bad_request(str(exc)) from None
        return self.variant.translate(G, image[None])[0]

    def _encode(self, output, return_array: bool) -> dict[str, Any]:
        from ganpipe.imageio import write_image
        from ganpipe.sampling import to_unit_range

        if output.dim() != 3:  # a 2-D point
            return {"array": output.tolist()}
        buffer = io.BytesIO()
        write_image(output, buffer)
        encoded: dict[str, Any] = {"image": base64.b64encode(buffer.getvalue()).decode("ascii")}
        if return_array:
            encoded["array"] = to_unit_range(output).tolist()
        return encoded


def _integer(row: dict[str, Any], field: str, index: int) -> int | None:
    value = row.get(field)
    if value is None or (isinstance(value, float) and value != value):  # absent, or NaN from a ragged frame
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, (bool, str)) or not number.is_integer():
        raise bad_request(f"row {index}: '{field}' must be an integer, got {value!r}")
    return int(number)


def signature(translates: bool):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import AnyType

    if translates:
        inputs = Schema([ColSpec("string", "image")])
        params = [ParamSpec("direction", "string", "AtoB"), ParamSpec("return_array", "boolean", False)]
    else:
        # Any, checked by _integer: as longs MLflow would truncate 1.5 silently, as doubles it would
        # refuse Python ints; a label sent to an unconditional model must be refused, not dropped.
        inputs = Schema([ColSpec(AnyType(), "seed"), ColSpec(AnyType(), "label", required=False)])
        params = [ParamSpec("return_array", "boolean", False)]
    return ModelSignature(inputs=inputs, params=ParamSchema(params))


def pip_requirements() -> list[str]:
    return [f"{package}=={metadata.version(package)}" for package in RUNTIME_PACKAGES]


def input_example(input_shape: tuple[int, ...] | None) -> pd.DataFrame:
    """One request row: a seed, or (translators) a blank image of the input's size."""
    if input_shape is None:
        return pd.DataFrame([{"seed": 0}])
    import torch

    from ganpipe.imageio import write_image

    buffer = io.BytesIO()
    write_image(torch.zeros(tuple(input_shape)), buffer)
    return pd.DataFrame([{"image": base64.b64encode(buffer.getvalue()).decode("ascii")}])


def log_model(checkpoint_path: Path, variant, artifact_name: str, registered_model_name: str):
    """Log the checkpoint as a pyfunc model from code (ganpipe's package travels with it, so
    serving needs no install and unpickles nothing) and register it; returns MLflow's ModelInfo."""
    import ganpipe

    package = Path(ganpipe.__file__).parent
    return mlflow.pyfunc.log_model(
        name=artifact_name,
        python_model=str(Path(__file__).with_name("serving_model.py")),
        artifacts={CHECKPOINT_ARTIFACT: str(checkpoint_path)},
        code_paths=[str(package)],
        signature=signature(variant.translates),
        input_example=input_example(variant.data.input_shape if variant.translates else None),
        pip_requirements=pip_requirements(),
        registered_model_name=registered_model_name,
    )
