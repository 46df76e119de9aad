"""Who a synthetic person is: :class:`Identity` (shape offsets, colours, hair, glasses), the hair
styles, the named presets and seeded random people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core.registry import Registry
from .maths import smoothstep


@dataclass(frozen=True)
class HairStyle:
    """Where hair grows on the head shell and how it looks. Shell points are unit vectors about the
    skull's centre: y down, z towards the back of the head."""

    thickness: float  # how far the hair stands off the skull where it covers it, template units
    # How far down the sides the hair reaches (shell y) at the front, half a unit further at the
    # back; None: bald, with a horseshoe fringe around the back and sides.
    level: float | None
    sheet: tuple[tuple[float, float], tuple[float, float]] | None = None  # (x0, x1), (y0, y1) of hair hanging behind
    density: float = 1.0  # opacity of the hair over the scalp (a buzz cut lets the skin show)
    fringe: float = 1.0  # opacity of the hair that comes down onto the forehead (0: none)
    curly: bool = False

    def mask(self, unit: np.ndarray) -> np.ndarray:
        """0..1 hair cover at shell directions ``unit`` (..., 3)."""
        y, z = unit[..., 1], unit[..., 2]
        back = np.clip(z, 0, 1)
        if self.level is None:
            return (
                smoothstep((y + 0.15) / 0.1) * smoothstep((0.45 + 0.2 * back - y) / 0.1) * smoothstep((z + 0.1) / 0.2)
            )
        return smoothstep((self.level + 0.5 * back - y) / 0.12)

    def volume(self, unit: np.ndarray) -> np.ndarray:
        """Outward offset (template units) the hair adds to the head shell at ``unit``."""
        return self.thickness * self.mask(unit)


# Every style, once: Identity.hair_style names one, random people draw from them in this order.
HAIR_STYLES: Registry[HairStyle] = Registry("hair style")
for _name, _style in (
    ("short", HairStyle(thickness=0.12, level=-0.02)),
    ("buzz", HairStyle(thickness=0.02, level=-0.05, density=0.55, fringe=0.6)),
    ("bald", HairStyle(thickness=0.03, level=None, fringe=0.0)),
    ("bob", HairStyle(thickness=0.16, level=0.35, sheet=((-1.05, 1.05), (-0.5, 1.45)))),
    ("long", HairStyle(thickness=0.14, level=0.45, sheet=((-1.15, 1.15), (-0.5, 3.2)))),
    ("curly", HairStyle(thickness=0.3, level=0.15, curly=True)),
):
    HAIR_STYLES.register(_name)(_style)


@dataclass(frozen=True)
class Identity:
    """What makes a synthetic person recognisable. Shape values are offsets around an average face
    (about -1..1, in tenths of the inter-ocular distance where geometric); colours are BGR."""

    skin: tuple[int, int, int]
    hair_color: tuple[int, int, int]
    eye_color: tuple[int, int, int]
    lip_color: tuple[int, int, int]
    shirt: tuple[int, int, int]
    hair_style: str = "short"  # a name in HAIR_STYLES
    face_width: float = 0.0
    face_length: float = 0.0
    jaw: float = 0.0
    chin: float = 0.0
    cheeks: float = 0.0
    eye_size: float = 0.0
    eye_spacing: float = 0.0
    eye_tilt: float = 0.0
    brow_height: float = 0.0
    brow_thickness: float = 1.0
    brow_arch: float = 0.0
    nose_length: float = 0.0
    nose_width: float = 0.0
    nose_bridge: float = 0.0
    lip_fullness: float = 0.0
    mouth_width: float = 0.0
    hairline: float = 0.0  # how far the hair comes down the forehead (0 = top of the mesh)
    beard: float = 0.0  # 0 none, 0.3 stubble, 1 full
    glasses: str = "none"  # none, round, square
    freckles: float = 0.0

    @property
    def hair(self) -> HairStyle:
        return HAIR_STYLES.get(self.hair_style)


IDENTITIES: Registry[Identity] = Registry("synthetic identity")
# a table: one person per entry reads better than one field per line
# fmt: off
for _name, _identity in (
    ("ada", Identity(skin=(150, 178, 222), hair_color=(30, 45, 80), eye_color=(90, 110, 60),
                     lip_color=(105, 100, 190), shirt=(140, 80, 40), hair_style="long", face_width=-0.4,
                     jaw=-0.6, chin=0.2, eye_size=0.5, brow_thickness=0.7, brow_arch=0.8,
                     nose_width=-0.5, nose_length=-0.2, lip_fullness=0.6, hairline=0.3, freckles=0.5)),
    ("bo", Identity(skin=(70, 95, 140), hair_color=(20, 22, 25), eye_color=(25, 40, 60),
                    lip_color=(70, 70, 120), shirt=(60, 150, 200), hair_style="buzz", face_width=0.6,
                    face_length=0.3, jaw=0.8, chin=-0.2, cheeks=0.4, eye_size=-0.3, brow_thickness=1.5,
                    brow_height=-0.5, nose_width=0.9, nose_bridge=-0.3, lip_fullness=0.9, mouth_width=0.4,
                    beard=0.45)),
    ("cyd", Identity(skin=(120, 165, 205), hair_color=(25, 30, 35), eye_color=(30, 50, 70),
                     lip_color=(95, 105, 170), shirt=(70, 70, 70), hair_style="bob", face_width=0.2,
                     face_length=-0.5, jaw=-0.2, cheeks=0.8, eye_size=-0.1, eye_tilt=0.8, brow_thickness=0.9,
                     brow_height=0.3, nose_length=-0.6, nose_bridge=-0.8, lip_fullness=0.1, mouth_width=-0.4,
                     hairline=0.9)),
    ("dev", Identity(skin=(110, 140, 185), hair_color=(15, 20, 30), eye_color=(20, 35, 55),
                     lip_color=(90, 90, 150), shirt=(200, 200, 205), hair_style="short", face_width=-0.1,
                     face_length=0.7, jaw=0.3, chin=0.6, eye_spacing=-0.4, brow_thickness=1.8, brow_height=-0.2,
                     nose_length=0.8, nose_bridge=0.8, nose_width=0.3, lip_fullness=-0.3, beard=1.0)),
    ("eli", Identity(skin=(175, 195, 235), hair_color=(70, 140, 200), eye_color=(150, 120, 70),
                     lip_color=(120, 120, 205), shirt=(90, 140, 60), hair_style="curly", face_width=0.1,
                     face_length=-0.2, jaw=-0.3, chin=-0.4, cheeks=-0.3, eye_size=0.3, eye_spacing=0.5,
                     brow_thickness=0.6, brow_height=0.4, nose_length=-0.3, nose_width=-0.3, lip_fullness=-0.5,
                     mouth_width=-0.2, freckles=1.0)),
    ("fay", Identity(skin=(95, 125, 170), hair_color=(30, 30, 40), eye_color=(30, 50, 75),
                     lip_color=(80, 70, 140), shirt=(130, 40, 140), hair_style="long", face_width=0.3,
                     face_length=0.2, jaw=-0.4, chin=0.3, cheeks=0.7, eye_size=0.6, eye_tilt=-0.4,
                     brow_thickness=1.1, brow_arch=1.0, nose_width=0.4, nose_bridge=-0.2, lip_fullness=1.0,
                     mouth_width=0.6, hairline=0.15)),
    ("gus", Identity(skin=(140, 165, 215), hair_color=(140, 145, 150), eye_color=(120, 100, 80),
                     lip_color=(100, 105, 170), shirt=(50, 60, 110), hair_style="bald", face_width=0.5,
                     face_length=0.4, jaw=0.5, chin=0.1, cheeks=-0.5, eye_size=-0.6, eye_spacing=0.2,
                     brow_thickness=1.3, brow_height=-0.6, nose_length=0.5, nose_width=0.6, nose_bridge=0.4,
                     lip_fullness=-0.6, mouth_width=0.2, beard=0.7, glasses="square")),
    ("hana", Identity(skin=(178, 192, 232), hair_color=(15, 15, 20), eye_color=(25, 30, 40),
                      lip_color=(110, 95, 185), shirt=(180, 130, 200), hair_style="short", face_width=-0.3,
                      face_length=-0.3, jaw=-0.5, chin=-0.1, cheeks=0.3, eye_size=-0.2, eye_spacing=0.3,
                      eye_tilt=0.6, brow_thickness=0.8, brow_height=0.2, nose_length=-0.4, nose_width=-0.1,
                      nose_bridge=-0.6, lip_fullness=0.3, mouth_width=-0.5, hairline=0.6, glasses="round")),
    ("ivo", Identity(skin=(130, 155, 195), hair_color=(40, 60, 95), eye_color=(110, 90, 50),
                     lip_color=(95, 100, 160), shirt=(40, 110, 40), hair_style="short", face_width=0.0,
                     face_length=0.1, jaw=0.2, chin=0.5, cheeks=0.1, eye_size=0.1, eye_spacing=-0.2,
                     brow_thickness=1.2, brow_arch=-0.5, nose_length=0.3, nose_width=-0.2, nose_bridge=0.9,
                     lip_fullness=0.0, mouth_width=0.1, beard=0.25)),
    ("juno", Identity(skin=(60, 80, 115), hair_color=(10, 12, 15), eye_color=(15, 25, 40),
                      lip_color=(60, 55, 105), shirt=(30, 190, 230), hair_style="curly", face_width=-0.2,
                      face_length=0.3, jaw=-0.3, chin=0.2, cheeks=0.5, eye_size=0.4, brow_thickness=0.9,
                      brow_arch=0.6, brow_height=0.3, nose_width=0.6, nose_length=0.1, lip_fullness=1.2,
                      mouth_width=0.3, hairline=0.2)),
):
    IDENTITIES.register(_name)(_identity)
# fmt: on

PRESET_NAMES: tuple[str, ...] = tuple(IDENTITIES.names())


def random_identity(seed: int) -> Identity:
    """A random person: skin along a dark–light palette, the rest drawn independently."""
    rng = np.random.default_rng([seed, 0x1DE])
    tone = rng.uniform()
    dark, light = np.array([55, 75, 110]), np.array([175, 195, 235])
    skin = dark + (light - dark) * tone + rng.normal(0, 6, 3)
    hair_palette = [(15, 15, 20), (25, 35, 60), (40, 70, 120), (70, 140, 200), (140, 145, 150), (30, 45, 110)]
    eye_palette = [(25, 35, 55), (40, 70, 90), (120, 100, 60), (90, 120, 70), (150, 120, 70)]
    shape = {
        k: float(rng.uniform(-0.8, 0.8))
        for k in (
            "face_width",
            "face_length",
            "jaw",
            "chin",
            "cheeks",
            "eye_size",
            "eye_spacing",
            "eye_tilt",
            "brow_height",
            "brow_arch",
            "nose_length",
            "nose_width",
            "nose_bridge",
            "lip_fullness",
            "mouth_width",
        )
    }
    return Identity(
        skin=_bgr(skin),
        hair_color=_bgr(np.array(hair_palette[rng.integers(len(hair_palette))]) + rng.normal(0, 5, 3)),
        eye_color=_bgr(np.array(eye_palette[rng.integers(len(eye_palette))]) + rng.normal(0, 8, 3)),
        lip_color=_bgr(skin * np.array([0.65, 0.55, 0.9]) + np.array([10, 10, 20])),
        shirt=_bgr(rng.uniform(30, 220, 3)),
        hair_style=str(rng.choice(HAIR_STYLES.names())),
        brow_thickness=float(rng.uniform(0.6, 1.6)),
        hairline=float(rng.uniform(0, 0.8)),
        beard=float(rng.choice([0.0, 0.0, 0.3, 0.8])),
        glasses=str(rng.choice(["none", "none", "round", "square"])),
        freckles=float(rng.uniform(0, 1) * (tone > 0.6)),
        **shape,
    )


def _bgr(values: Any) -> tuple[int, int, int]:
    b, g, r = (int(np.clip(round(float(v)), 0, 255)) for v in values)
    return (b, g, r)
