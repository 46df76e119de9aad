"""Held-out PSNR against training minutes, for comparing recipes (``swapcam train --holdout``).

``python -m benchmarks.training_curves OUT.png RUN_DIR=LABEL@IT_PER_S …``: each run's holdout.csv
(iteration, seconds, psnr_db) is drawn against minutes = iteration / IT_PER_S / 60, where IT_PER_S
is the recipe's speed measured alone on the machine. Runs that shared the cores with other work
have wall-clock seconds that say nothing about the recipe; their iterations still do.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Curve:
    label: str
    minutes: list[float]
    psnr_db: list[float]


def read_curve(run: Path, label: str, its_per_second: float) -> Curve:
    """The run's holdout.csv as minutes at ``its_per_second`` and PSNR."""
    with (run / "holdout.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return Curve(
        label,
        [int(r["iteration"]) / its_per_second / 60 for r in rows],
        [float(r["psnr_db"]) for r in rows],
    )


def plot(curves: list[Curve], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    for curve in curves:
        ax.plot(curve.minutes, curve.psnr_db, marker="o", markersize=3, label=curve.label)
    ax.set_xlabel("training minutes (iterations ÷ the recipe's speed alone on the machine)")
    ax.set_ylabel("held-out PSNR over the face, dB")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    curves = []
    for spec in argv[1:]:
        run, _, rest = spec.partition("=")
        label, _, speed = rest.rpartition("@")
        curves.append(read_curve(Path(run), label, float(speed)))
    plot(curves, Path(argv[0]), "swapcam train --preset live: held-out PSNR against minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
