"""The pipeline's stages as plain functions of (config, pipeline, paths).

DVC (`dvc.yaml`) and Prefect (`flows/pipeline.py`) both call exactly these.
"""

from ganpipe.stages.evaluate import evaluate
from ganpipe.stages.evaluator import train_evaluator
from ganpipe.stages.prepare import prepare
from ganpipe.stages.register import register
from ganpipe.stages.train import train

__all__ = ["prepare", "train_evaluator", "train", "evaluate", "register"]
