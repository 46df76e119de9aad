"""The detector network: a small CNN over the aligned crop (about 60 M multiply-adds at 128 px).

Input as ``swapcam verify`` feeds it: (N, 128, 128, 3) float32 BGR 0..1; :meth:`forward` gives
logits, :class:`Scored` the probabilities the ONNX file outputs.
"""

from __future__ import annotations

import torch
from torch import nn

LAYERS = ((32, 2), (48, 2), (64, 2), (128, 2), (128, 1))  # (channels, stride) after the first layer


def _block(cin: int, cout: int, stride: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class DetectorNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # a 4x4 first layer reads every pixel pair before subsampling, so the fine-detail step at a
        # seam and a softer inside survive the stride
        layers, cin = (
            [nn.Sequential(nn.Conv2d(3, 24, 4, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU(inplace=True))],
            24,
        )
        for width, stride in LAYERS:
            layers.append(_block(cin, width, stride))
            cin = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        """faces (N, H, W, 3) float BGR 0..1 → (N,) logits."""
        x = faces.permute(0, 3, 1, 2) * 2.0 - 1.0
        x = self.features(x).mean((2, 3))
        return self.head(x).squeeze(1)


class Scored(nn.Module):
    """The network with a sigmoid: what the ONNX file computes."""

    def __init__(self, net: DetectorNet):
        super().__init__()
        self.net = net

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(faces))
