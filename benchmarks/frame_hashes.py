"""Frame hashes of fixed runs: a change meant to leave every output alone leaves them all equal.

``python -m benchmarks.frame_hashes OUT.json [swapcam live flags …]``: run it before and after the
change (on the same machine: onnxruntime's numerics differ between CPUs) and diff the two files.
Five runs, every frame processed (``--pace every``): 720p synthetic with the hand occluder and every
default on, to ``images:`` and to ``file:`` (H.264, the decoded frames hashed); 360p with other
stage choices; and dlib's group photos when ../shared/media is there.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import av

from .quality_data import ROOT

SYNTHETIC = "synthetic:seed=3,size=1280x720,occluder=hand"


def _live(args: list[str]) -> None:
    command = [sys.executable, "-m", "swapcam.realtime.cli", "live", "--pace", "every", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr.strip().splitlines()[-1])


def hash_folder(folder: Path) -> tuple[str, int]:
    digest, files = hashlib.sha256(), sorted(folder.iterdir())
    for path in files:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16], len(files)


def hash_video(path: Path) -> tuple[str, int]:
    digest, count = hashlib.sha256(), 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            digest.update(frame.to_ndarray(format="bgr24").tobytes())
            count += 1
    return digest.hexdigest()[:16], count


def main(out: str, extra: list[str]) -> None:
    hashes: dict[str, tuple[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        _live(["--input", SYNTHETIC, "--max-frames", "60", *extra, "--output", f"images:{t}/a"])
        hashes["synthetic720_hand_defaults_images"] = hash_folder(t / "a")
        _live(
            [
                "--input",
                SYNTHETIC,
                "--max-frames",
                "60",
                *extra,
                "--output",
                f"file:{t}/b.mp4",
                "--output",
                f"images:{t}/b",
            ]
        )
        hashes["synthetic720_file_mp4"] = hash_video(t / "b.mp4")
        hashes["synthetic720_file_images"] = hash_folder(t / "b")
        stages = ["--no-hands", "--blend", "alpha", "--color", "lct"]
        _live(
            [
                "--input",
                "synthetic:seed=5,size=640x360",
                "--max-frames",
                "40",
                *stages,
                *extra,
                "--output",
                f"images:{t}/c",
            ]
        )
        hashes["synthetic360_alpha_lct_images"] = hash_folder(t / "c")
        photos = ROOT.parent / "shared" / "media" / "dlib-faces"
        if photos.is_dir():
            _live(
                [
                    "--input",
                    f"images:{photos}",
                    "--choose",
                    "all",
                    "--max-faces",
                    "8",
                    *extra,
                    "--output",
                    f"images:{t}/d",
                ]
            )
            hashes["dlib_photos_all_faces"] = hash_folder(t / "d")
    Path(out).write_text(json.dumps(hashes, indent=1) + "\n")
    print(json.dumps(hashes, indent=1))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m benchmarks.frame_hashes OUT.json [swapcam live flags …]")
    main(sys.argv[1], sys.argv[2:])
