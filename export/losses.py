"""Training losses (DeepFaceLab's SAEHD recipe): DSSIM + pixel loss on the masked face, a mask loss,
an optional eyes-and-mouth term and an optional patch-GAN term.

All tensors are NCHW float32 0..1: images [N,3,R,R], masks and weight maps [N,1,R,R].

The Gaussian filters of DSSIM and of the soft mask are matrix products (:func:`gaussian_matrix`):
the same sums as kornia's reflect-padded separable convolutions, but a depthwise convolution ran at
2 GFLOP/s on an AVX2 CPU and its padding's backward cost as much again, while a product with a
banded matrix runs at GEMM speed (benchmarks/RESULTS.md, issue 23).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from swapcam.realtime.core.registry import Registry

PixelLoss = Callable[[Tensor, Tensor], Tensor]
#: the function of each pixel loss declared in settings.PIXEL_LOSSES
PIXEL_LOSS_FUNCTIONS: Registry[PixelLoss] = Registry("pixel loss")
PIXEL_LOSS_FUNCTIONS.register("mse")(F.mse_loss)
PIXEL_LOSS_FUNCTIONS.register("l1")(F.l1_loss)

# DFL's weights: 10 × DSSIM, 10 × pixel, 10 × mask, 300 × mean |error| inside the eyes/mouth map.
DSSIM_WEIGHT = 10.0
PIXEL_WEIGHT = 10.0
MASK_WEIGHT = 10.0
EYES_MOUTH_WEIGHT = 300.0


def dssim_window(resolution: int) -> int:
    """Odd SSIM window that grows with the face size (DFL's resolution / 11.6): 11 at 128, 5 at 64."""
    return max(3, int(resolution / 11.6) // 2 * 2 + 1)


@functools.lru_cache(maxsize=16)  # a few sizes per run, asked for at every training step
def gaussian_matrix(size: int, window: int, sigma: float) -> np.ndarray:
    """(size, size) float64 M such that ``rows @ M`` filters each row with a normalised Gaussian of
    ``window`` taps (odd) and ``sigma``, the border reflected as torch's ``reflect`` padding does it
    (the edge pixel not repeated): the same sums as pad-then-convolve, as one banded matrix."""
    radius = window // 2
    taps = np.exp(-((np.arange(window) - radius) ** 2) / (2.0 * sigma**2))
    taps /= taps.sum()
    matrix = np.zeros((size, size))
    out = np.arange(size)
    for k, tap in enumerate(taps):
        read = np.abs(out + k - radius)  # reflected at 0 ...
        read = np.where(read > size - 1, 2 * (size - 1) - read, read)  # ... and at size - 1
        np.add.at(matrix, (read, out), tap)
    return matrix


def gaussian_blur(images: Tensor, window: int, sigma: float) -> Tensor:
    """Separable Gaussian blur of [N,C,H,W] with reflected borders (kornia's gaussian_blur2d), as two
    matrix products: [N,C,H,W] → [N,C,H,W] of the same dtype."""
    height, width = images.shape[-2:]
    rows = torch.from_numpy(gaussian_matrix(width, window, sigma)).to(images)
    columns = rows if height == width else torch.from_numpy(gaussian_matrix(height, window, sigma)).to(images)
    return columns.T @ images.contiguous() @ rows


def ssim_loss(pred: Tensor, target: Tensor, window: int) -> Tensor:
    """kornia.losses.ssim_loss: mean over pixels and channels of (1 − SSIM) / 2, clamped to 0..1, with a
    Gaussian window of ``window`` taps and σ 1.5, values 0..1 (Wang et al. 2004's C1, C2).
    pred/target [N,C,H,W] → scalar."""
    c1, c2 = 0.01**2, 0.03**2
    channels = pred.shape[1]
    # one blur of the five maps together: both means, both second moments and the cross moment
    stats = gaussian_blur(torch.cat([pred, target, pred * pred, target * target, pred * target], 1), window, 1.5)
    mu1, mu2, e11, e22, e12 = stats.split(channels, 1)
    mu11, mu22, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    ssim = ((2.0 * mu12 + c1) * (2.0 * (e12 - mu12) + c2)) / (
        (mu11 + mu22 + c1) * ((e11 - mu11) + (e22 - mu22) + c2) + 1e-12
    )
    return ((1.0 - ssim) / 2).clamp(0.0, 1.0).mean()


def blur_mask(mask: Tensor) -> Tensor:
    """Soft mask for masked training: blurred over R/32 and saturated inside, so the loss also sees a
    thin band around the face edge. [N,1,R,R] → [N,1,R,R]."""
    sigma = max(1.0, mask.shape[-1] / 32)
    return gaussian_blur(mask, int(sigma * 3) * 2 + 1, sigma).clamp(0.0, 0.5) * 2.0


def reconstruction_losses(
    pred: Tensor,
    pred_mask: Tensor,
    target: Tensor,
    target_mask: Tensor,
    eyes_mouth: Tensor | None,
    pixel_loss: str = "mse",
    masked: bool = True,
) -> dict[str, Tensor]:
    """Weighted loss terms of one identity's reconstruction, each a scalar tensor.

    pred/target: [N,3,R,R]; pred_mask/target_mask: [N,1,R,R]; eyes_mouth: [N,1,R,R] 0/1 map of the
    eyes and mouth, or None for no eyes-and-mouth term; masked: compare only the (softened) face.
    Keys: ``dssim``, ``pixel``, ``mask`` and, with a map, ``eyes_mouth``.
    """
    if masked:
        soft = blur_mask(target_mask)
        pred_face, target_face = pred * soft, target * soft
    else:
        pred_face, target_face = pred, target
    window = dssim_window(pred.shape[-1])
    terms = {
        "dssim": DSSIM_WEIGHT * ssim_loss(pred_face, target_face, window),
        "pixel": PIXEL_WEIGHT * PIXEL_LOSS_FUNCTIONS.get(pixel_loss)(pred_face, target_face),
        "mask": MASK_WEIGHT * F.mse_loss(pred_mask, target_mask),
    }
    if eyes_mouth is not None:
        terms["eyes_mouth"] = EYES_MOUTH_WEIGHT * (pred * eyes_mouth - target * eyes_mouth).abs().mean()
    return terms


def generator_gan_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating GAN loss: the generator wants its patches judged real."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return (
        F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    ) / 2
