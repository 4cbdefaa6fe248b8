"""Built-in datasets, registered by name, and the prepared on-disk format they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganpipe.config import DataConfig
from ganpipe.data import digits, mixtures, stacked, translation
from ganpipe.errors import GanpipeError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    build: Callable[[DataConfig], dict[str, Any]]


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo("digits", digits.DESCRIPTION, digits.build),
    "ring8": DatasetInfo("ring8", mixtures.RING8_DESCRIPTION, mixtures.build_ring8),
    "grid25": DatasetInfo("grid25", mixtures.GRID25_DESCRIPTION, mixtures.build_grid25),
    "stacked_digits": DatasetInfo("stacked_digits", stacked.DESCRIPTION, stacked.build),
    **{name: DatasetInfo(name, text, build) for name, (text, build) in translation.descriptions().items()},
}


def get_dataset(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise GanpipeError(f"unknown dataset '{name}' (known: {known})") from None
