"""The file MLflow logs as the pyfunc model's code (models from code: nothing is pickled)."""

import mlflow

from ganpipe.integrations.serving import GanpipeModel

mlflow.models.set_model(GanpipeModel())
