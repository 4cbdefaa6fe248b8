"""DCGAN (Radford, Metz & Chintala 2016): the GAN objective with conv nets, Adam 2e-4, beta1 0.5."""

from __future__ import annotations

from ganpipe.variants.gan import GAN


class DCGAN(GAN):
    name = "dcgan"
    description = "deep convolutional GAN, non-saturating loss"
    paper = "Radford, Metz & Chintala 2016, arXiv:1511.06434"
    image_arch = "dcgan"
