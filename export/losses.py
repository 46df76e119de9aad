"""Training losses (DeepFaceLab's SAEHD recipe): DSSIM + pixel loss on the masked face, a mask loss,
an optional eyes-and-mouth term and an optional patch-GAN term.

All tensors are NCHW float32 0..1: images [N,3,R,R], masks and weight maps [N,1,R,R].
"""

from __future__ import annotations

from collections.abc import Callable

import kornia
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


def blur_mask(mask: Tensor) -> Tensor:
    """Soft mask for masked training: blurred over R/32 and saturated inside, so the loss also sees a
    thin band around the face edge. [N,1,R,R] → [N,1,R,R]."""
    sigma = max(1.0, mask.shape[-1] / 32)
    kernel = int(sigma * 3) * 2 + 1
    blurred = kornia.filters.gaussian_blur2d(mask, (kernel, kernel), (sigma, sigma))
    return blurred.clamp(0.0, 0.5) * 2.0


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
        "dssim": DSSIM_WEIGHT * kornia.losses.ssim_loss(pred_face, target_face, window),
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
