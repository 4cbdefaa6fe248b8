"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation A <-> B.

Two generators (G: A -> B, G_BA: B -> A) and two PatchGAN discriminators with instance norm
(D judges B images, D_A judges A images), least-squares adversarial losses, a cycle loss
(lambda = train.cycle_weight, 10) and an identity loss (train.identity_weight x lambda, 0.5).
Each D sees fakes through a history pool of train.pool_size (50) earlier fakes (Shrivastava et
al. 2017). A and B are drawn independently, so paired data trains it as if unpaired.
The pools are part of the checkpoint, so a resumed run continues exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganpipe import losses
from ganpipe.nets.dcgan import init_dcgan_weights
from ganpipe.variants.base import Batch, Nets, Stats
from ganpipe.variants.image_to_image import ImageToImage


class ImagePool:
    """Returns, for each new fake, either it or (with probability 1/2, once full) a stored older
    fake that the new one replaces."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        chosen = []
        for fake in fakes.detach():
            if len(self.images) < self.size:
                self.images.append(fake.clone())
                chosen.append(fake)
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(0, self.size, ()))
                chosen.append(self.images[slot].to(fake.device))
                self.images[slot] = fake.clone()
            else:
                chosen.append(fake)
        return torch.stack(chosen)

    def state(self) -> torch.Tensor:
        return torch.stack([image.cpu() for image in self.images]) if self.images else torch.empty(0)

    def load(self, stored: torch.Tensor) -> None:
        self.images = [image.clone() for image in stored]


class CycleGAN(ImageToImage):
    name = "cyclegan"
    description = "unpaired image-to-image translation: two G, two PatchGAN D, cycle and identity losses"
    paper = "Zhu et al. 2017, arXiv:1703.10593"
    batch_groups = (("a",), ("x",))  # A and B drawn independently: no pairs are used
    trained_nets = ("G", "G_BA", "D", "D_A")
    resnet_from = 128  # the paper's ResNet G at 128 and 256; a U-Net for small images

    def __init__(self, model, train, data) -> None:
        super().__init__(model, train, data)
        self.pools = {"A": ImagePool(train.pool_size), "B": ImagePool(train.pool_size)}

    def build_nets(self) -> Nets:
        channels_b, channels_a = self.data.shape[0], self.data.input_shape[0]
        nets: Nets = {
            "G": self.generator(channels_a, channels_b),
            "G_BA": self.generator(channels_b, channels_a),
            "D": self.discriminator(channels_b),
            "D_A": self.discriminator(channels_a),
        }
        for net in nets.values():
            net.apply(init_dcgan_weights)
        return nets

    def build_optimizers(self, nets: Nets, train) -> dict[str, torch.optim.Optimizer]:
        return {"G": self._optimizer([*nets["G"].parameters(), *nets["G_BA"].parameters()], train.lr),
                "D": self._optimizer([*nets["D"].parameters(), *nets["D_A"].parameters()], train.d_learning_rate)}

    def discriminator_loss(self, nets: Nets, batch: Batch, z: torch.Tensor, step: int) -> tuple[torch.Tensor, Stats]:
        a, b = batch["a"], batch["x"]
        with torch.no_grad():
            fake_b, fake_a = nets["G"](a), nets["G_BA"](b)
        loss_b = losses.d_loss_least_squares(nets["D"](b), nets["D"](self.pools["B"].query(fake_b)))
        loss_a = losses.d_loss_least_squares(nets["D_A"](a), nets["D_A"](self.pools["A"].query(fake_a)))
        return loss_a + loss_b, {"D/B": loss_b.detach(), "D/A": loss_a.detach()}

    def generator_loss(self, nets: Nets, batch: Batch, z: torch.Tensor, step: int) -> tuple[torch.Tensor, Stats]:
        t = self.train_config
        a, b = batch["a"], batch["x"]
        fake_b, fake_a = nets["G"](a), nets["G_BA"](b)
        # least squares against "real" (MSE to 1, as the reference implementation)
        adversarial = 2 * (losses.g_loss_least_squares(nets["D"](fake_b)) + losses.g_loss_least_squares(nets["D_A"](fake_a)))
        cycle = F.l1_loss(nets["G_BA"](fake_b), a) + F.l1_loss(nets["G"](fake_a), b)
        loss = adversarial + t.cycle_weight * cycle
        stats: Stats = {"G/adv": adversarial.detach(), "G/cycle": cycle.detach()}
        if t.identity_weight and a.shape[1] == b.shape[1]:
            identity = F.l1_loss(nets["G"](b), b) + F.l1_loss(nets["G_BA"](a), a)
            loss = loss + t.identity_weight * t.cycle_weight * identity
            stats["G/identity"] = identity.detach()
        return loss, stats

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {f"pool_{name}": pool.state() for name, pool in self.pools.items()}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        for name, pool in self.pools.items():
            pool.load(state[f"pool_{name}"])
