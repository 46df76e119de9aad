"""The quality benchmark's inputs: real clips split into frames, facesets and the models trained on
them, all built once with swapcam's own commands and cached (never inside the repository: these
are derived from real people's media, which must not be committed).

Cases:

* **self-swap** — a ``live`` model whose source is the clip's own person, trained on the first 80 %
  of the clip's frames, run over the last 20 %. The output should equal the input: the one ground
  truth a face swap has.
* **cross swap** — the same model on a segment of another person's clip (people the model was
  trained on as targets, as a user records the people who will be on camera). The output should
  show the source identity with the camera person's expression and pose.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media" / "liveportrait-driving"
DEFAULT_CACHE = Path.home() / ".cache" / "swapcam-quality"

SELF_SWAP_CLIPS = ("d6", "d10", "d14")  # long enough to train on their first 80 %
CAMERA_CLIPS = ("d9", "d3", "d12")  # the people on camera: targets of every model, cross-swap inputs
TRAIN_SHARE = 0.8
CROSS_FRAMES = 150  # frames of each camera clip a cross swap runs over (5 s)
# Today's recipe at a fixed iteration count, so a cached model means the same thing on any machine.
RECIPE = ("--preset", "live", "--iterations", "2000", "--decay-iterations", "2000")
PRECISION = "int8"  # what a CPU user runs live


@dataclass(frozen=True)
class Case:
    """One pipeline run to score: a model over a folder of frames."""

    name: str  # e.g. "d6 self", "d6→d9"
    kind: str  # "self" or "cross"
    source: str  # the identity the model renders (clip name)
    camera: str  # the person in the input frames (clip name)
    frames: Path  # folder of PNG frames, the input and the reference
    model: Path
    fps: float
    occluders: Path | None = None  # .npy (N, H, W) bool: where something covers the input (synthetic only)


def clip_path(name: str, folder: Path = MEDIA) -> Path:
    return folder / f"{name}.mp4"


def read_clip(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame of a video, (H, W, 3) uint8 BGR, and its frame rate."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    if not frames:
        raise RuntimeError(f"cannot read any frame of {path}")
    return frames, fps


def write_frames(frames: list[np.ndarray], folder: Path) -> Path:
    """PNG frames 000000.png, … (lossless, so the reference is exactly what the pipeline read)."""
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(frames):
        cv2.imwrite(str(partial / f"{index:06d}.png"), image)
    partial.rename(folder)
    return folder


def read_frames(folder: Path) -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in sorted(folder.glob("*.png"))]


def _swapcam(*args: str, log) -> None:
    command = [sys.executable, "-m", "swapcam.realtime.cli", *args]
    log("quality: swapcam " + " ".join(args))
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"swapcam {args[0]} failed ({result.returncode}): {result.stderr.strip()[-600:]}")


def recipe_key() -> str:
    """Names a cached model by everything that made it, the training defaults included: a changed
    default retrains instead of scoring an old recipe's model as today's."""
    from swapcam.export.settings import ModelSettings, TrainSettings
    from swapcam.realtime.core.settings import to_dict

    made_by = [RECIPE, TRAIN_SHARE, PRECISION, to_dict(TrainSettings()), to_dict(ModelSettings())]
    return hashlib.sha256(json.dumps(made_by, sort_keys=True).encode()).hexdigest()[:10]


class QualityData:
    """Builds (or finds in ``cache``) every frame folder, faceset and model the cases need."""

    def __init__(self, cache: Path = DEFAULT_CACHE, media: Path = MEDIA, log=print):
        self.cache = cache
        self.log = log
        self._paths = {name: clip_path(name, media) for name in (*SELF_SWAP_CLIPS, *CAMERA_CLIPS)}

    def available(self) -> list[str]:
        return [name for name, path in self._paths.items() if path.exists()]

    def path(self, name: str) -> Path:
        return self._paths[name]

    def _split(self, name: str) -> tuple[Path, Path, float]:
        """(train frames, held-out frames, fps) of a self-swap clip."""
        folder = self.cache / "frames" / name
        train, heldout, meta = folder / "train", folder / "heldout", folder / "clip.json"
        if not meta.exists():
            frames, fps = read_clip(self.path(name))
            cut = int(round(len(frames) * TRAIN_SHARE))
            write_frames(frames[:cut], train)
            write_frames(frames[cut:], heldout)
            meta.write_text(json.dumps({"fps": fps, "frames": len(frames), "cut": cut}))
        return train, heldout, json.loads(meta.read_text())["fps"]

    def camera_frames(self, name: str) -> tuple[Path, float]:
        folder = self.cache / "frames" / name
        segment, meta = folder / "segment", folder / "clip.json"
        if not meta.exists():
            frames, fps = read_clip(self.path(name))
            write_frames(frames[:CROSS_FRAMES], segment)
            meta.write_text(json.dumps({"fps": fps, "frames": len(frames), "segment": min(len(frames), CROSS_FRAMES)}))
        return segment, json.loads(meta.read_text())["fps"]

    def _faceset(self, name: str, spec: str) -> Path:
        folder = self.cache / "facesets" / name
        if not (folder / "done").exists():
            _swapcam("extract", "--input", spec, "--out", str(folder), "--no-progress", log=self.log)
            (folder / "done").write_text("")
        return folder

    def model(self, name: str) -> Path:
        """The int8 ``live`` model of source ``name`` (trained on its first 80 %, targets: CAMERA_CLIPS)."""
        folder = self.cache / "models" / f"{name}-{recipe_key()}"
        model = folder / f"{name}_{PRECISION}.onnx"
        if model.exists():
            return model
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "lock", "w") as lock:
            try:  # two benchmark runs training one model would corrupt each other's run
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(f"another process is training {folder}: wait for it to finish") from None
            if not model.exists():
                self._train(name, folder, model)
        return model

    def _train(self, name: str, folder: Path, model: Path) -> None:
        self.log(
            f"quality: training the {name} self-swap model ({' '.join(RECIPE)}; about half an hour on "
            f"2 CPU cores, once: cached in {folder})"
        )
        train_frames, _, _ = self._split(name)
        source = self._faceset(f"{name}_train", f"images:{train_frames}")
        cameras = [cam for cam in CAMERA_CLIPS if self.path(cam).exists()]
        # without the shared clips (a user's own --clip), synthetic people stand in for the camera side
        targets = [self._faceset(cam, f"file:{self.path(cam)}") for cam in cameras] or [
            self._faceset("synthetic-random", "synthetic:identity=random,seed=1,size=640x480")
        ]
        run = folder / "run"
        resume = ["--resume"] if (run / "checkpoint.pt").exists() else []
        _swapcam(
            "train",
            "--source",
            str(source),
            *[a for t in targets for a in ("--target", str(t))],
            "--source-name",
            name,
            "--out",
            str(run),
            *RECIPE,
            "--no-progress",
            *resume,
            log=self.log,
        )
        _swapcam(
            "export",
            str(run),
            "--out",
            str(model),
            "--precision",
            PRECISION,
            "--faceset",
            str(source),
            "--target-faceset",
            str(targets[0]),
            "--consent",
            "local quality benchmark only",
            log=self.log,
        )

    def cases(
        self,
        sources: tuple[str, ...] = SELF_SWAP_CLIPS,
        cameras: tuple[str, ...] = CAMERA_CLIPS,
        wanted=lambda name: True,
    ) -> list[Case]:
        """The self-swap and cross-swap cases whose names ``wanted`` accepts; models are trained
        (once, then cached) only for the cases chosen."""
        cases = []
        for name in sources:
            chosen = [
                (camera, f"{name}→{camera}")
                for camera in (name, *cameras)
                if wanted(f"{name} self" if camera == name else f"{name}→{camera}")
            ]
            if not chosen:
                continue
            model = self.model(name)
            for camera, case in chosen:
                if camera == name:
                    _, heldout, fps = self._split(name)
                    cases.append(Case(f"{name} self", "self", name, name, heldout, model, fps))
                else:
                    frames, camera_fps = self.camera_frames(camera)
                    cases.append(Case(case, "cross", name, camera, frames, model, camera_fps))
        return cases

    def demo_case(self, camera: str) -> Case:
        """The shipped demo model (it renders synthetic bo) over a real camera clip: what a new user
        sees first on their own camera, since ``swapcam live`` without ``--model`` runs it."""
        from swapcam.realtime.run.demo import DEMO_MODEL

        frames, fps = self.camera_frames(camera)
        return Case(f"demo→{camera}", "cross", "bo", camera, frames, DEMO_MODEL, fps)

    def clip_case(self, path: Path) -> Case:
        """A self-swap of any clip: a model trained on its first 80 %, run over the last 20 %."""
        if not path.is_file():
            raise FileNotFoundError(f"--clip {path} does not exist")
        name = path.stem
        if self._paths.setdefault(name, path) != path:
            raise ValueError(f"--clip {path}: another clip is already named {name}; rename one")
        model = self.model(name)
        _, heldout, fps = self._split(name)
        return Case(f"{name} self", "self", name, name, heldout, model, fps)

    def source_frames(self, name: str) -> Path:
        """Frames of the source identity the model trained on (its identity reference)."""
        return self._split(name)[0]


if __name__ == "__main__":  # python -m benchmarks.quality_data: build every model now
    data = QualityData()
    for clip in SELF_SWAP_CLIPS:
        print(data.model(clip))
