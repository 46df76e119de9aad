"""Training speed: iterations a second of one ``swapcam train`` step of a preset on this CPU, for the
README's "what to expect" table (one row per CPU class).

``python -m benchmarks --only training_speed``. Times :meth:`swapcam.export.training.trainer.Trainer.step`
(augmentation, forward, losses, backward, AdamW) on a fixed batch of random faces — the time of a
dense network does not depend on the pixels — at each thread count up to the cores, with the
precision ``--precision auto`` picks here (bf16 only on CPUs with AVX512-BF16 or AMX). Reports wall
and process-CPU milliseconds a step: on a shared machine the CPU time per step is the steadier
figure (it counts the work, not the waiting). Data loading is not timed: decoded faces are cached
and the loader runs beside the step.
"""

from __future__ import annotations

import os
import statistics
import time

from .common import Results

PRESET = "live"
BATCH = 8  # swapcam train's default --batch-size


def _batch(resolution: int, batch: int):
    """A collated batch of random faces, as the loader delivers it (uint8 NHWC images, NHW maps)."""
    import torch

    generator = torch.Generator().manual_seed(0)

    def draw(*shape: int, high: int = 256):
        return torch.randint(0, high, shape, dtype=torch.uint8, generator=generator)

    faces = {}
    for side in ("source", "target"):
        faces[side] = draw(batch, resolution, resolution, 3)
        faces[f"{side}_mask"] = draw(batch, resolution, resolution, high=2) * 255
        faces[f"{side}_eyes_mouth"] = draw(batch, resolution, resolution, high=2)
    return faces


def time_steps(preset: str, threads: int, steps: int, warmup: int = 2) -> Results:
    """Median wall and CPU ms of ``steps`` training steps of ``preset`` on ``threads`` CPU threads."""
    import torch

    from swapcam.export.device import Distributed, choose_precision
    from swapcam.export.dims import PRESETS
    from swapcam.export.settings import TrainSettings
    from swapcam.export.training.trainer import Trainer

    settings = TrainSettings(threads=threads, batch_size=BATCH, device="cpu")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        dims = PRESETS.get(preset)
        trainer = Trainer(dims, settings, torch.device("cpu"), Distributed())
        batch = _batch(dims.resolution, BATCH)
        for i in range(warmup):
            trainer.step(batch, i)
        wall, cpu = [], []
        for i in range(steps):
            started, started_cpu = time.perf_counter(), time.process_time()
            trainer.step(batch, warmup + i)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    finally:
        torch.set_num_threads(previous)
    precision = choose_precision(settings, torch.device("cpu"))
    return {
        "precision": "fp32" if precision is None else str(precision).removeprefix("torch."),
        "wall_ms": round(statistics.median(wall) * 1000, 1),
        "cpu_ms": round(statistics.median(cpu) * 1000, 1),
        "it_per_s": round(1 / statistics.median(wall), 3),
    }


def run(quick: bool) -> Results:
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not installed: pip install 'swapcam[train]' to time training"}
    cores = os.cpu_count() or 1
    preset = "tiny" if quick else PRESET
    results: Results = {
        "preset": preset,
        "batch": BATCH,
        "avx2_only": not torch.backends.cpu.get_cpu_capability().startswith("AVX512"),
    }
    for threads in sorted({1, cores}):
        results[f"{threads}_threads"] = time_steps(preset, threads, steps=2 if quick else 10)
    return results


def markdown(results: Results) -> list[str]:
    if "skipped" in results:
        return [f"Skipped: {results['skipped']}."]
    lines = [
        f"`{results['preset']}` preset, batch {results['batch']}, one training step on random faces "
        f"({'AVX2, no AVX-512' if results['avx2_only'] else 'AVX-512'} kernels):",
        "",
        "| threads | precision | it/s | ms/step (wall) | CPU ms/step |",
        "|---|---|---|---|---|",
    ]
    for key, row in results.items():
        if key.endswith("_threads"):
            threads = key.removesuffix("_threads")
            lines.append(
                f"| {threads} | {row['precision']} | {row['it_per_s']:.2f} | {row['wall_ms']:.0f} | {row['cpu_ms']:.0f} |"
            )
    return lines
