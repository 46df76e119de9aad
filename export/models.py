"""Face-swap autoencoders (DeepFaceLab's DF and LIAE) and the swap path that export runs.

Terms: the **source** identity is the face the user wears (it appears in the output); **target** faces
are the people on camera being replaced. The encoder is shared: it learns what all faces have in
common (pose, expression, light); identity lives in the decoders (DF) or in the intermediate codes
(LIAE). A swap encodes a target face and decodes it as the source.

Shapes: all modules here work on NCHW float32 0..1 BGR; only :func:`build_swap_module` speaks the
NHWC contract of :mod:`swapcam.realtime.stages.contract`.

A model is data: :class:`~swapcam.export.dims.ModelDims` fixes every shape, ``dims.PRESETS`` names
the shipped ones (both torch-free, for the CLI), and :func:`build_model` turns dims into modules, so a
checkpoint that stores the dims re-creates its model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor, nn

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.registry import Registry

from .dims import DOWNSCALES, ModelDims

IDENTITIES = ("source", "target")
#: architecture name (declared in dims.ARCHITECTURES) → model class (filled below, once the classes exist)
MODEL_CLASSES: Registry[Callable[[ModelDims], SwapModel]] = Registry("architecture")


def _act() -> nn.Module:
    return nn.LeakyReLU(0.1)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, separable: bool = False) -> nn.Module:
    """A kxk convolution (same padding), or a depthwise kxk + pointwise 1x1 pair when separable."""
    if not separable:
        return nn.Conv2d(cin, cout, kernel, stride, kernel // 2)
    return nn.Sequential(nn.Conv2d(cin, cin, kernel, stride, kernel // 2, groups=cin), nn.Conv2d(cin, cout, 1))


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a skip, as in DFL's decoders: [N,C,H,W] → [N,C,H,W]."""

    def __init__(self, channels: int, separable: bool):
        super().__init__()
        self.conv1 = _conv(channels, channels, 3, separable=separable)
        self.conv2 = _conv(channels, channels, 3, separable=separable)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


def icnr_(conv: nn.Module, factor: int) -> nn.Module:
    """ICNR initialisation (Aitken et al. 2017) of the conv that feeds a PixelShuffle(factor), in place:
    the factor² output channels that become one channel's sub-pixels start with the same weights and
    bias, so the shuffled output starts as a nearest-neighbour upscale instead of a checkerboard of
    unrelated sub-pixels. ``conv``: a Conv2d, or a Sequential ending in one (separable); returned."""
    last = conv[-1] if isinstance(conv, nn.Sequential) else conv
    assert isinstance(last, nn.Conv2d)  # what _conv builds
    group = factor * factor
    with torch.no_grad():
        # PixelShuffle reads channel c·factor² + k as sub-pixel k of channel c
        last.weight.copy_(last.weight[::group].repeat_interleave(group, 0))
        if last.bias is not None:
            last.bias.copy_(last.bias[::group].repeat_interleave(group, 0))
    return conv


def _upscale(cin: int, cout: int, separable: bool) -> nn.Module:
    """[N,cin,H,W] → [N,cout,2H,2W]: a conv to 4·cout channels (ICNR-initialised), then a pixel shuffle."""
    return nn.Sequential(icnr_(_conv(cin, 4 * cout, 3, separable=separable), 2), _act(), nn.PixelShuffle(2))


class Encoder(nn.Module):
    """[N,3,R,R] → [N, 8·e, R/16, R/16] by four stride-2 stages of e, 2e, 4e, 8e channels."""

    def __init__(self, dims: ModelDims):
        super().__init__()
        stages, cin = [], 3
        for i in range(DOWNSCALES):
            cout = dims.encoder_dims * 2**i
            # the first stage sees 3 channels: a depthwise conv there would see no colour mixing
            stages += [_conv(cin, cout, dims.kernel, 2, separable=dims.separable and i > 0), _act()]
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.out_channels = cin

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(x)


class Inter(nn.Module):
    """Dense bottleneck: [N,C,L,L] → [N, out_channels, L, L] through a flat code of ``width`` values."""

    def __init__(self, in_channels: int, lowest: int, width: int, out_channels: int):
        super().__init__()
        self.lowest, self.out_channels = lowest, out_channels
        self.down = nn.Linear(in_channels * lowest * lowest, width)
        self.up = nn.Linear(width, out_channels * lowest * lowest)

    def forward(self, x: Tensor) -> Tensor:
        code = self.up(self.down(x.flatten(1)))
        return code.view(-1, self.out_channels, self.lowest, self.lowest)


class Decoder(nn.Module):
    """Code [N,C,L,L] → image [N,3,R,R] and mask [N,1,R,R], both sigmoid 0..1.

    Image and mask are separate branches (as in DFL), so a caller that needs only the mask runs
    only the mask branch (:meth:`mask`): the swap path uses that for the camera face's mask.
    """

    def __init__(self, in_channels: int, dims: ModelDims):
        super().__init__()
        ups = DOWNSCALES - 1 if dims.half_res_output else DOWNSCALES
        shuffle = 2 if dims.half_res_output else 1
        self.image = self._branch(in_channels, dims.decoder_dims, ups, dims.res_blocks, dims.separable, 3, shuffle)
        self.image.append(nn.PixelShuffle(shuffle))
        self.mask_branch = self._branch(in_channels, dims.mask_dims, ups, 0, dims.separable, 1, shuffle)
        self.mask_branch.append(nn.PixelShuffle(shuffle))

    @staticmethod
    def _branch(
        cin: int, last: int, ups: int, res_blocks: int, separable: bool, out: int, shuffle: int
    ) -> nn.Sequential:
        """Upscales to ``last`` channels, then a conv to out·shuffle² channels for the caller's shuffle."""
        layers: list[nn.Module] = []
        for i in range(ups):
            cout = last * 2 ** (ups - 1 - i)
            layers.append(_upscale(cin, cout, separable))
            layers += [ResBlock(cout, separable) for _ in range(res_blocks)]
            cin = cout
        layers.append(icnr_(nn.Conv2d(cin, out * shuffle**2, 3, padding=1), shuffle))
        return nn.Sequential(*layers)

    def forward(self, code: Tensor) -> tuple[Tensor, Tensor]:
        return torch.sigmoid(self.image(code)), self.mask(code)

    def mask(self, code: Tensor) -> Tensor:
        return torch.sigmoid(self.mask_branch(code))


class SwapModel(nn.Module):
    """Interface shared by the architectures.

    ``forward(source, target)`` reconstructs both batches ([N,3,R,R] each) in one call (one call per
    step keeps DistributedDataParallel simple) and returns ``(source_image, source_mask, target_image,
    target_mask)``; ``render(faces, identity)`` decodes ``faces`` as ``identity`` and returns
    ``(image, mask)``; ``swap_path(faces, identity)`` returns ``(camera_mask, image, mask)``: the mask
    of the faces as they are (the target side) and their rendering as ``identity``, from one encoder
    pass.
    """

    dims: ModelDims

    def render(self, faces: Tensor, identity: str) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def swap_path(self, faces: Tensor, identity: str) -> tuple[Tensor, Tensor, Tensor]:
        raise NotImplementedError


@MODEL_CLASSES.register("df")
class DF(SwapModel):
    """Shared encoder + inter, one decoder per identity (DFL's DF)."""

    def __init__(self, dims: ModelDims):
        super().__init__()
        self.dims = dims
        self.encoder = Encoder(dims)
        lowest = dims.resolution // 2**DOWNSCALES
        self.inter = Inter(self.encoder.out_channels, lowest, dims.inter_dims, dims.inter_dims)
        self.decoders = nn.ModuleDict({name: Decoder(dims.inter_dims, dims) for name in IDENTITIES})

    def forward(self, source: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        code = self.inter(self.encoder(torch.cat([source, target])))
        source_code, target_code = code.split([len(source), len(target)])
        return (*self.decoders["source"](source_code), *self.decoders["target"](target_code))

    def render(self, faces: Tensor, identity: str) -> tuple[Tensor, Tensor]:
        return self.decoders[identity](self.inter(self.encoder(faces)))

    def swap_path(self, faces: Tensor, identity: str) -> tuple[Tensor, Tensor, Tensor]:
        code = self.inter(self.encoder(faces))
        target = cast(Decoder, self.decoders["target"])  # ModuleDict items are typed as Module
        return (target.mask(code), *self.decoders[identity](code))


@MODEL_CLASSES.register("liae")
class LIAE(SwapModel):
    """Shared encoder, inter_AB (all faces) and inter_B (target faces only), one decoder (DFL's LIAE).

    Codes: source face → cat(AB, AB); target face → cat(B, AB); swap of a target face → cat(AB, AB),
    i.e. the target's shared component placed where a source face carries its own.
    """

    def __init__(self, dims: ModelDims):
        super().__init__()
        self.dims = dims
        self.encoder = Encoder(dims)
        lowest = dims.resolution // 2**DOWNSCALES
        self.inter_ab = Inter(self.encoder.out_channels, lowest, dims.inter_dims, 2 * dims.inter_dims)
        self.inter_b = Inter(self.encoder.out_channels, lowest, dims.inter_dims, 2 * dims.inter_dims)
        self.decoder = Decoder(4 * dims.inter_dims, dims)

    def forward(self, source: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        source_ab = self.inter_ab(self.encoder(source))
        target_features = self.encoder(target)
        target_code = torch.cat([self.inter_b(target_features), self.inter_ab(target_features)], 1)
        image, mask = self.decoder(torch.cat([torch.cat([source_ab, source_ab], 1), target_code]))
        n = len(source)
        return image[:n], mask[:n], image[n:], mask[n:]

    def render(self, faces: Tensor, identity: str) -> tuple[Tensor, Tensor]:
        return self.swap_path(faces, identity)[1:]

    def swap_path(self, faces: Tensor, identity: str) -> tuple[Tensor, Tensor, Tensor]:
        features = self.encoder(faces)
        ab = self.inter_ab(features)
        target_code = torch.cat([self.inter_b(features), ab], 1)
        image, mask = self.decoder(torch.cat([ab, ab], 1) if identity == "source" else target_code)
        return self.decoder.mask(target_code), image, mask


def build_model(dims: ModelDims) -> SwapModel:
    return MODEL_CLASSES.get(dims.arch)(dims)


class SwapPath(nn.Module):
    """The exported model: in_face [N,H,W,3] BGR 0..1 (NHWC) → (out_face_mask [N,H,W,1],
    out_celeb_face [N,H,W,3], out_celeb_face_mask [N,H,W,1]), all 0..1.

    out_face_mask is the model's mask of the camera face as it is (the target side); the celeb
    outputs are the face rendered as ``identity``.
    """

    def __init__(self, model: SwapModel, identity: str):
        super().__init__()
        if identity not in IDENTITIES:
            raise UserError(f"unknown identity {identity!r}: choose one of {', '.join(IDENTITIES)}")
        self.model, self.identity = model, identity

    def forward(self, in_face: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        face_mask, celeb, celeb_mask = self.model.swap_path(in_face.permute(0, 3, 1, 2), self.identity)
        return face_mask.permute(0, 2, 3, 1), celeb.permute(0, 2, 3, 1), celeb_mask.permute(0, 2, 3, 1)


def build_swap_module(model: SwapModel, identity: str = "source") -> nn.Module:
    """The swap path of ``model`` with the contract's NHWC interface (see :class:`SwapPath`)."""
    return SwapPath(model, identity)


def swap_flops(dims: ModelDims) -> int:
    """FLOPs of one face through the swap path, as torch's FlopCounterMode counts them: convolutions
    and matrix products only, a multiply-add counted as 2 FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode

    module = build_swap_module(build_model(dims)).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.zeros(1, dims.resolution, dims.resolution, 3))
    return counter.get_total_flops()


class PatchDiscriminator(nn.Module):
    """PatchGAN critic for the optional GAN term: [N,3,R,R] → logits [N,1,R/8,R/8], one per patch."""

    def __init__(self, dims: int):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for i in range(3):
            cout = dims * 2**i
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2)]
            cin = cout
        layers.append(nn.Conv2d(cin, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
