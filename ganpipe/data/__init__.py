"""Built-in datasets, registered by name, and the prepared on-disk format they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ganpipe.config import DataConfig
from ganpipe.data import digits
from ganpipe.errors import GanpipeError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    build: Callable[[DataConfig], dict[str, np.ndarray]]


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo("digits", digits.DESCRIPTION, digits.build),
}


def get_dataset(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise GanpipeError(f"unknown dataset '{name}' (known: {known})") from None
