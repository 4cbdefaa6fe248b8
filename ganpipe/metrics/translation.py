"""Scores of translated images against the true targets: L1, PSNR and SSIM (torchmetrics).

Images come in [-1, 1] and are scored in [0, 1] (data range 1). PSNR is the mean over images
of each image's PSNR; SSIM the mean SSIM (Gaussian window 11, sigma 1.5).
"""

from __future__ import annotations

import torch


def paired_scores(outputs: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    if outputs.shape != truth.shape:
        raise ValueError(f"outputs {tuple(outputs.shape)} and targets {tuple(truth.shape)} differ in shape")
    preds, target = (outputs.clamp(-1, 1) + 1) / 2, (truth.clamp(-1, 1) + 1) / 2
    return {
        "l1": float((preds - target).abs().mean()),
        "psnr": float(peak_signal_noise_ratio(preds, target, data_range=1.0, dim=(1, 2, 3))),
        "ssim": float(structural_similarity_index_measure(preds, target, data_range=1.0)),
    }
