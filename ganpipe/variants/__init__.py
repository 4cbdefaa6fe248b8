"""The explicit registry of GAN variants: adding one is one file and one line here."""

from __future__ import annotations

from ganpipe.errors import GanpipeError
from ganpipe.config import Config
from ganpipe.variants.base import DataSpec, Variant
from ganpipe.variants.cgan import CGAN
from ganpipe.variants.cyclegan import CycleGAN
from ganpipe.variants.dcgan import DCGAN
from ganpipe.variants.gan import GAN
from ganpipe.variants.lsgan import LSGAN
from ganpipe.variants.pix2pix import Pix2Pix
from ganpipe.variants.sngan import SNGAN
from ganpipe.variants.wgan import WGAN
from ganpipe.variants.wgan_gp import WGANGP

VARIANTS: dict[str, type[Variant]] = {
    variant.name: variant for variant in (GAN, DCGAN, LSGAN, WGAN, WGANGP, SNGAN, CGAN, Pix2Pix, CycleGAN)
}


def build_variant(name: str, config: Config, sample_shape: list[int] | tuple[int, ...], num_classes: int = 0,
                  input_shape: list[int] | tuple[int, ...] | None = None) -> Variant:
    """The variant `name`, configured by `config`, for samples of `sample_shape` (for a
    conditional variant, labels in 0..num_classes-1; for a translating one, inputs of `input_shape`)."""
    spec = DataSpec(tuple(int(n) for n in sample_shape), int(num_classes),
                    None if input_shape is None else tuple(int(n) for n in input_shape))
    return get_variant(name)(config.model, config.train, spec)


def get_variant(name: str) -> type[Variant]:
    """The variant class registered under `name`."""
    try:
        return VARIANTS[name]
    except KeyError:
        known = ", ".join(VARIANTS)
        raise GanpipeError(f"unknown variant '{name}' (known: {known})") from None
