"""Rebuild the shipped demo model from nothing but the synthetic generator.

    python -m swapcam.export.demo_model [--work DIR] [--iterations N]

Steps (the same commands a user runs on their own faces):

1. ``swapcam extract`` the synthetic identities ``bo`` (the face to wear) and ``ada`` (the demo's
   camera person) into facesets, and 48 random synthetic people (50 faces each, the pool of
   ``swapcam pretrain``);
2. ``swapcam train`` the ``demo`` preset for a fixed number of iterations with ada *and* the random
   people on the camera side, without colour transfer between the sets (``--ct none``: skin tone is
   part of who bo is). The demo model is also what ``swapcam live`` runs without ``--model``, on
   whoever sits in front of the camera: trained on ada alone, its encoder knew one face and turned
   a real one into a smudge; many people on the camera side teach it faces in general;
3. ``swapcam export`` it (fp32) into ``realtime/data/demo.onnx`` with its model card.

No identity is a real person; the consent line of the card says so. Seeds and iteration counts are
fixed, so a rebuild gives the same model up to floating-point differences between machines.
On a 2-core CPU the rebuild takes about 45 minutes: 2 minutes of rendering, then 10,000 iterations
at 4.5 it/s (3.5 it/s with other work alongside). The shipped model reconstructs held-out faces of
bo (``synthetic:identity=bo,seed=2``, never trained on) at 29.7 dB PSNR over the face, 35.7 dB on
its training faces (``swapcam evaluate``; the previous demo, trained 6,000 iterations against ada
alone: 19.8 and 23.4 dB). It ships fp32 (11 MB, 2.7 ms a face on 2 CPU threads).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from swapcam.realtime.cli import main as swapcam
from swapcam.realtime.run.demo import DEMO_MODEL

from .pretrain import build_pool
from .settings import PretrainSettings

SOURCE, CAMERA, CROWD = "bo", "ada", "random"
CROP = 128  # px: faceset crops (the demo preset trains at 96)
CONSENT = (
    "Synthetic identities from swapcam's generator (bo; ada and 48 random people on the camera side); "
    "no real person is depicted."
)


def build(work: Path, iterations: int, out: Path = DEMO_MODEL) -> None:
    facesets = {name: work / name for name in (SOURCE, CAMERA)}  # bo's folder name becomes the card's source
    # command lines, kept as a person would type them
    # fmt: off
    for name, folder in facesets.items():
        if not (folder / "faceset.json").exists():
            _run(["extract", "--input", f"synthetic:identity={name},size=640x360,seed=1", "--count", "400",
                  "--resolution", str(CROP), "--out", str(folder)])
    (crowd,) = build_pool(work, PretrainSettings(), [], CROP, progress=True)  # the pool swapcam pretrain renders
    _run(["train", "--source", str(facesets[SOURCE]), "--target", str(facesets[CAMERA]), "--target", str(crowd),
          "--target-name", CAMERA, "--target-name", CROWD, "--preset", "demo", "--base", "none",
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
    parser.add_argument("--iterations", type=int, default=10000, help="training iterations")
    parser.add_argument("--out", default=str(DEMO_MODEL), help="where to write the model")
    args = parser.parse_args()
    build(Path(args.work), args.iterations, Path(args.out))


if __name__ == "__main__":
    main()
