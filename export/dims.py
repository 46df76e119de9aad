"""What shapes a model, without torch: :class:`ModelDims`, the architecture names and the presets.

The CLI (``swapcam train --help``, :mod:`swapcam.export.settings`) and the checkpoints need these,
and every swapcam invocation builds every subcommand's parser, so they live here rather than next
to the modules in :mod:`swapcam.export.models`, which attaches a model class to each architecture
name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.registry import Registry

#: encoder downscales; the resolution must be a multiple of 2**DOWNSCALES
DOWNSCALES = 4

#: architecture name → one-line description (models.MODEL_CLASSES holds a class for each name)
ARCHITECTURES: Registry[str] = Registry("architecture")
ARCHITECTURES.register("df")("shared encoder and inter, one decoder per identity (DeepFaceLab's DF)")
ARCHITECTURES.register("liae")("shared encoder, inter_AB and inter_B codes, one decoder (DeepFaceLab's LIAE)")

#: (low, high) of each dimension that must stay in a range; the resolution must also be a multiple of 16
LIMITS = {
    "resolution": (32, 1024),
    "encoder_dims": (1, 1024),
    "inter_dims": (1, 4096),
    "decoder_dims": (1, 1024),
    "mask_dims": (1, 1024),
    "kernel": (1, 31),
}


@dataclass(frozen=True)
class ModelDims:
    """Everything that fixes a model's shape (a checkpoint stores it to rebuild the model).

    arch: ``df`` or ``liae`` (:data:`ARCHITECTURES`); resolution: face crop size, multiple of 16;
    encoder_dims: channels of the first encoder stage (doubling per stage); inter_dims: bottleneck
    width (DFL's ae_dims); decoder_dims / mask_dims: channels of the last image / mask decoder stage
    (doubling towards the bottleneck); kernel: encoder kernel size; separable: depthwise-separable
    convolutions after the first encoder stage (cheap on CPUs); half_res_output: the decoders stop at
    resolution / 2 and a pixel shuffle makes the full-size output; res_blocks: residual blocks per
    image-decoder stage.

    Construction is the one place dims are checked: a bad value raises a UserError naming its flag.
    """

    arch: str
    resolution: int
    encoder_dims: int
    inter_dims: int
    decoder_dims: int
    mask_dims: int
    kernel: int = 5
    separable: bool = False
    half_res_output: bool = False
    res_blocks: int = 1

    def __post_init__(self) -> None:
        ARCHITECTURES.get(self.arch)  # a UserError listing the choices
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise UserError(f"{flag(name)} {value} is out of range: use a value from {low} to {high}")
        if self.resolution % (2**DOWNSCALES):
            raise UserError(
                f"--resolution {self.resolution} is not a multiple of {2**DOWNSCALES}: use e.g. 64, 128 or 224"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def flag(name: str) -> str:
    """The command-line flag of a dimension: ``encoder_dims`` → ``--encoder-dims``."""
    return "--" + name.replace("_", "-")


#: preset name → dims, and → a one-line description (the --preset help lists them)
PRESETS: Registry[ModelDims] = Registry("model preset")
PRESET_NOTES: Registry[str] = Registry("model preset")
DEFAULT_PRESET = "live"


def _preset(name: str, note: str, dims: ModelDims) -> None:
    PRESETS.register(name)(dims)
    PRESET_NOTES.register(name)(note)


# one preset per entry (ModelDims' defaults: kernel 5, no separable convs, full-resolution output)
# fmt: off
# CPU real time: DF with 3x3 convs whose decoders stop at 64 px and end in a pixel shuffle; swap
# path 1.85 GFLOPs (FlopCounterMode) and about 7 ms/face in onnxruntime on 2 CPU threads.
# Depthwise-separable convs (separable=True) would run at a tenth of the FLOPs (about 2 ms) but hold
# far fewer weights; ordinary convs fit the budget, so the budget goes to capacity.
_preset("live", "CPU real time, 128 px DF",
    ModelDims("df", 128, encoder_dims=32, inter_dims=256, decoder_dims=40, mask_dims=16, kernel=3,
              half_res_output=True))
# GPU quality: SAEHD-class LIAE (DFL defaults ae 256, e 64, d 64, d_mask 22) at 224 px.
_preset("quality", "GPU, 224 px LIAE",
    ModelDims("liae", 224, encoder_dims=64, inter_dims=256, decoder_dims=64, mask_dims=22))
# The shipped demo model: 96 px with a half-resolution decoder trains faster per step than "tiny"
# (141 vs 182 ms per batch of 16 on 2 CPU threads) yet has twice tiny's bottleneck width, which is
# what made tiny's faces blurry.
_preset("demo", "the shipped demo model, 96 px",
    ModelDims("df", 96, encoder_dims=24, inter_dims=128, decoder_dims=24, mask_dims=8, kernel=3,
              half_res_output=True))
# Tests: trains in seconds on a CPU.
_preset("tiny", "tests, 64 px",
    ModelDims("df", 64, encoder_dims=16, inter_dims=64, decoder_dims=16, mask_dims=8, kernel=3))
# fmt: on


#: preset → the base shipped in the package (``swapcam train --base auto`` starts from it). Shipped
#: only where it wins clearly: the live base raised held-out PSNR on a real clip by over 1 dB at 10
#: CPU minutes (benchmarks/RESULTS.md). Made from synthetic people only, by one command:
#: ``swapcam pretrain --out DIR --preset live --iterations 3600`` (DIR/base.pt.gz is the file).
SHIPPED_BASES: Registry[str] = Registry("shipped base")
SHIPPED_BASES.register("live")("base-live.pt.gz")
#: ``--base``'s two names (anything else names a base file): the preset's shipped base, or random weights
BASE_AUTO, BASE_NONE = "auto", "none"


def names_base_file(choice: str) -> bool:
    """Whether a ``--base`` value names a file of the user's rather than auto or none."""
    return choice not in (BASE_AUTO, BASE_NONE)
