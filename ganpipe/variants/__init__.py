"""The explicit registry of GAN variants: adding one is one file and one line here."""

from __future__ import annotations

from ganpipe.errors import GanpipeError
from ganpipe.variants.base import Variant
from ganpipe.variants.dcgan import DCGAN

VARIANTS: dict[str, type[Variant]] = {
    DCGAN.name: DCGAN,
}


def get_variant(name: str) -> type[Variant]:
    """The variant class registered under `name`."""
    try:
        return VARIANTS[name]
    except KeyError:
        known = ", ".join(sorted(VARIANTS))
        raise GanpipeError(f"unknown variant '{name}' (known: {known})") from None
