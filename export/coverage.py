"""Faceset coverage: which head poses and expressions the target facesets show that the source
faceset lacks (``swapcam faceset-report``, and a warning when training starts).

A DF/LIAE model learns to render the source only in the poses and expressions it has seen; where
the people on camera turn, look down, open their mouth wide or close their eyes further than the
source ever did, the swap turns to mush there. Naming those gaps before hours of training tells a
user what to record.

Pure core: :func:`measure` (records in, one value per face) and :func:`find_gaps` (value arrays in,
the bands the source lacks out). Wrapper: :func:`coverage_report`, which also draws the PNG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swapcam.realtime.core.registry import Registry
from swapcam.realtime.stages.landmarks import eye_opening, mouth_opening

from .faceset import FaceRecord, Faceset

# A band is a gap when the targets show it in at least this share of their faces…
TARGET_SHARE = 0.05
# …and the source in fewer than this many faces (missing) or under a quarter of the targets' share (thin).
SOURCE_MIN_FACES = 3
THIN_RATIO = 0.25


@dataclass(frozen=True)
class Measure:
    """One thing to compare: a value per face and the bands it is counted in.

    ``edges``: inner band edges, ascending (bands below the first and above the last are open);
    ``band_names``: one per band (len(edges) + 1), as a person would say it.
    """

    title: str
    value: Callable[[FaceRecord], float]
    edges: tuple[float, ...]
    band_names: tuple[str, ...]

    def band(self, values: np.ndarray) -> np.ndarray:
        """(N,) values → (N,) band numbers 0..len(edges)."""
        return np.searchsorted(np.asarray(self.edges), values, side="right")


def _angle_bands(edges: tuple[float, ...]) -> tuple[str, ...]:
    inner = [f"{lo:+.0f}…{hi:+.0f}°" for lo, hi in zip(edges, edges[1:], strict=False)]
    return (f"below {edges[0]:+.0f}°", *inner, f"above {edges[-1]:+.0f}°")


_YAW = (-30.0, -15.0, -5.0, 5.0, 15.0, 30.0)
_PITCH = (-20.0, -10.0, -3.0, 3.0, 10.0, 20.0)
MEASURES: Registry[Measure] = Registry("coverage measure")
MEASURES.register("yaw")(Measure("head yaw", lambda r: r.yaw, _YAW, _angle_bands(_YAW)))
MEASURES.register("pitch")(Measure("head pitch", lambda r: r.pitch, _PITCH, _angle_bands(_PITCH)))
# openings are divided by the inter-ocular distance (realtime.landmarks), so they compare across people
MEASURES.register("mouth")(
    Measure(
        "mouth opening",
        lambda r: mouth_opening(r.landmarks),
        (0.03, 0.1, 0.2),
        ("closed", "parted", "open", "wide open"),
    )
)
MEASURES.register("eyes")(
    Measure(
        "eye opening",
        lambda r: eye_opening(r.landmarks),
        (0.05, 0.08, 0.12),
        ("closed", "narrowed", "open", "wide open"),
    )
)


def measure(records: Sequence[FaceRecord], name: str) -> np.ndarray:
    """(N,) float64 values of measure ``name`` for each record."""
    value = MEASURES.get(name).value
    return np.array([value(r) for r in records], np.float64)


@dataclass(frozen=True)
class Gap:
    measure: str  # registry name
    band: str  # e.g. "wide open"
    target_share: float
    source_faces: int
    source_share: float

    @property
    def missing(self) -> bool:
        return self.source_faces < SOURCE_MIN_FACES

    def line(self) -> str:
        title = MEASURES.get(self.measure).title
        has = "none" if not self.source_faces else f"{self.source_faces} ({self.source_share:.0%})"
        return (
            f"{title} {self.band}: {self.target_share:.0%} of the target faces, source faces: {has}"
            f" — {'record' if self.missing else 'record more of'} the source like that"
        )


def find_gaps(name: str, source: np.ndarray, target: np.ndarray) -> list[Gap]:
    """The bands of measure ``name`` that the targets show (≥ :data:`TARGET_SHARE` of their faces)
    and the source lacks (fewer than :data:`SOURCE_MIN_FACES` faces, or under :data:`THIN_RATIO` of
    the targets' share). source, target: (N,) values."""
    spec = MEASURES.get(name)
    bands = len(spec.edges) + 1
    source_counts = np.bincount(spec.band(source), minlength=bands)
    target_counts = np.bincount(spec.band(target), minlength=bands)
    gaps = []
    for band in range(bands):
        target_share = target_counts[band] / max(len(target), 1)
        source_share = source_counts[band] / max(len(source), 1)
        if target_share < TARGET_SHARE:
            continue
        if source_counts[band] < SOURCE_MIN_FACES or source_share < THIN_RATIO * target_share:
            gaps.append(
                Gap(name, spec.band_names[band], float(target_share), int(source_counts[band]), float(source_share))
            )
    return gaps


@dataclass(frozen=True)
class CoverageReport:
    values: dict[str, tuple[np.ndarray, np.ndarray]]  # measure → (source values, all targets' values)
    gaps: list[Gap]

    def gap_lines(self) -> list[str]:
        return [gap.line() for gap in self.gaps]

    def lines(self) -> list[str]:
        return self.gap_lines() or ["the source covers every pose and expression the targets show"]


def coverage(source: Faceset, targets: Sequence[Faceset]) -> CoverageReport:
    """Compare the source faceset with the targets' faces taken together."""
    target_records = [r for faceset in targets for r in faceset.records]
    values = {name: (measure(source.records, name), measure(target_records, name)) for name in MEASURES}
    gaps = [gap for name, (s, t) in values.items() for gap in find_gaps(name, s, t)]
    return CoverageReport(values, gaps)


def plot_coverage(report: CoverageReport, out: Path, source_label: str, target_label: str) -> None:
    """Bar charts of each measure's bands, source beside targets (shares of their faces); the bands
    named in gaps are marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    gap_bands = {(g.measure, g.band) for g in report.gaps}
    for ax, (name, (source, target)) in zip(axes.flat, report.values.items(), strict=True):
        spec = MEASURES.get(name)
        bands = len(spec.edges) + 1
        x = np.arange(bands)
        shares = [np.bincount(spec.band(v), minlength=bands) / max(len(v), 1) for v in (source, target)]
        ax.bar(x - 0.2, shares[0], 0.4, label=f"source: {source_label} ({len(source)})", color="#3b7dd8")
        ax.bar(x + 0.2, shares[1], 0.4, label=f"targets: {target_label} ({len(target)})", color="#e0803a")
        for band in range(bands):
            if (name, spec.band_names[band]) in gap_bands:
                ax.annotate(
                    "source lacks",
                    (band, max(shares[1][band], shares[0][band])),
                    ha="center",
                    va="bottom",
                    color="#b00020",
                    fontsize=8,
                    xytext=(0, 3),
                    textcoords="offset points",
                )
        ax.set_xticks(x, spec.band_names, rotation=30, ha="right", fontsize=8)
        ax.set_title(spec.title)
        ax.set_ylabel("share of faces")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8)
    fig.suptitle("Faceset coverage: what the people on camera show, and what the source has to learn it from")
    fig.savefig(out, dpi=110)
    plt.close(fig)
