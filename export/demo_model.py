"""Rebuild the shipped demo model from nothing but the synthetic generator.

    python -m swapcam.export.demo_model [--work DIR] [--iterations N]

Steps (the same commands a user runs on their own faces):

1. ``swapcam extract`` the synthetic identities ``bo`` (the face to wear) and ``ada`` (the camera
   side) into facesets;
2. ``swapcam train`` the ``demo`` preset for a fixed number of iterations, without colour transfer
   between the sets (``--ct none``: skin tone is part of who bo is);
3. ``swapcam export`` it (fp32) into ``realtime/data/demo.onnx`` with its model card.

Neither identity is a real person; the consent line of the card says so. Seeds and iteration counts
are fixed, so a rebuild gives the same model up to floating-point differences between machines.
On a 2-core CPU the rebuild takes about 47 minutes (6000 iterations at 2.2 it/s). The shipped model
reconstructs held-out faces of bo (``synthetic:identity=bo,seed=2``, never trained on) at 19.5 dB
PSNR over the face, 23.5 dB on its training faces (``swapcam evaluate``); int8 lost 1.3 dB against
fp32, over the export gate of 1 dB, so the demo ships fp32.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from swapcam.realtime.cli import main as swapcam
from swapcam.realtime.demo import DEMO_MODEL

SOURCE, CAMERA = "bo", "ada"
CONSENT = "Synthetic identities from swapcam's generator (bo, ada); no real person is depicted."


def build(work: Path, iterations: int, out: Path = DEMO_MODEL) -> None:
    facesets = {name: work / name for name in (SOURCE, CAMERA)}  # folder names become the card's identities
    # command lines, kept as a person would type them
    # fmt: off
    for name, folder in facesets.items():
        if not (folder / "faceset.json").exists():
            _run(["extract", "--input", f"synthetic:identity={name},size=640x360,seed=1", "--count", "400",
                  "--resolution", "128", "--out", str(folder)])
    _run(["train", "--source", str(facesets[SOURCE]), "--target", str(facesets[CAMERA]), "--preset", "demo",
          "--iterations", str(iterations), "--batch-size", "16", "--lr", "5e-4", "--warmup", "100",
          "--decay-iterations", str(iterations), "--out", str(work / "run"), "--seed", "0",
          # skin tone is part of who a synthetic identity is: no recolouring toward the camera side
          "--ct", "none",
          *(["--resume"] if (work / "run" / "checkpoint.pt").exists() else [])])
    _run(["export", str(work / "run"), "--out", str(out), "--faceset", str(facesets[SOURCE]),
          "--target-faceset", str(facesets[CAMERA]), "--consent", CONSENT])
    # fmt: on


def _run(args: list[str]) -> None:
    print("swapcam " + " ".join(args), file=sys.stderr)
    status = swapcam(args)
    if status:
        raise SystemExit(status)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m swapcam.export.demo_model", description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="demo-work", help="folder for facesets and the training run")
    parser.add_argument("--iterations", type=int, default=6000, help="training iterations")
    parser.add_argument("--out", default=str(DEMO_MODEL), help="where to write the model")
    args = parser.parse_args()
    build(Path(args.work), args.iterations, Path(args.out))


if __name__ == "__main__":
    main()
