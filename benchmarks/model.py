"""Model: ms/face of each preset and precision in onnxruntime, CPU at 1 and 2 threads and every GPU
provider this machine can run, with GFLOPs per face.

The graphs are exported from untrained weights (seeded): the time of a dense convolutional graph does
not depend on its values, and int8 is calibrated on random faces, which fixes the same quantized ops
a calibration on real faces would. Needs torch (the ``train`` extra); without it the section says so.
"""

from __future__ import annotations

import numpy as np

from swapcam.export.dims import PRESETS
from swapcam.export.settings import EXPORT_PRECISIONS
from swapcam.realtime.core.timing import median_ms

from .common import Results

PRESETS_TIMED = tuple(sorted(PRESETS, key=lambda name: PRESETS.get(name).resolution))  # tiny … quality
QUICK_PRESETS = ("tiny",)
PRECISIONS_TIMED = tuple(EXPORT_PRECISIONS)
CPU_THREADS = (1, 2)


def preset_graph(preset: str, precision: str = "fp32"):
    """The swap path of ``preset`` (seeded untrained weights) as an ONNX ModelProto in ``precision``."""
    import torch

    from swapcam.export.models import build_model, build_swap_module
    from swapcam.export.onnx_export import PRECISION_CONVERTERS, export_fp32_proto

    torch.manual_seed(0)
    dims = PRESETS.get(preset)
    fp32 = export_fp32_proto(build_swap_module(build_model(dims)), dims.resolution)
    calibration = np.random.default_rng(0).random((8, dims.resolution, dims.resolution, 3), dtype=np.float32)
    return PRECISION_CONVERTERS.get(precision)(fp32, calibration)


def _gpu_providers() -> list[str]:
    import onnxruntime as ort

    from swapcam.realtime.stages.swap import AUTO_ORDER, PROVIDERS

    available = ort.get_available_providers()
    return [
        name
        for name in AUTO_ORDER
        if name != "cpu" and PROVIDERS.get(name).ort_name in available and PROVIDERS.get(name).usable()
    ]


def _ms_per_face(graph, provider: str, threads: int, repeat: int) -> float:
    from swapcam.realtime.stages.swap import Swapper, SwapSettings, run_swap

    swapper = Swapper(graph, SwapSettings(provider=provider, threads=threads))
    res = swapper.io.resolution
    face = np.random.default_rng(1).random((1, res, res, 3), dtype=np.float32)
    return median_ms(lambda: run_swap(swapper.session, face, None), repeat)


def run(quick: bool) -> Results:
    try:
        import torch  # noqa: F401
    except ImportError:
        return {"skipped": "torch is not installed: pip install 'swapcam[train]' to time the presets"}
    from swapcam.realtime.stages.modelinfo import count_flops

    repeat = 10 if quick else 50
    gpus = [] if quick else _gpu_providers()
    results: Results = {}
    for preset in QUICK_PRESETS if quick else PRESETS_TIMED:
        fp32 = preset_graph(preset)
        entry: Results = {"resolution": PRESETS.get(preset).resolution, "gflops": round(count_flops(fp32) / 1e9, 3)}
        for precision in PRECISIONS_TIMED:
            graph = fp32 if precision == "fp32" else preset_graph(preset, precision)
            timings = {f"cpu_{t}t": round(_ms_per_face(graph, "cpu", t, repeat), 3) for t in CPU_THREADS}
            timings.update({gpu: round(_ms_per_face(graph, gpu, 0, repeat), 3) for gpu in gpus})
            entry[precision] = timings
        results[preset] = entry
    return results


def markdown(results: Results) -> list[str]:
    if "skipped" in results:
        return [f"Skipped: {results['skipped']}."]
    columns = sorted({key for entry in results.values() for p in PRECISIONS_TIMED for key in entry[p]})
    lines = [
        "| preset | px | GFLOPs | precision | " + " | ".join(f"{c} ms" for c in columns) + " | ÷ fp32 (2 threads) |",
        "|---|---|---|---|" + "---|" * (len(columns) + 1),
    ]
    for preset, entry in results.items():
        base = entry["fp32"].get("cpu_2t")
        for precision in PRECISIONS_TIMED:
            timings = entry[precision]
            ratio = f"{timings['cpu_2t'] / base:.2f}" if base else "–"
            lines.append(
                f"| {preset} | {entry['resolution']} | {entry['gflops']} | {precision} | "
                + " | ".join(f"{timings[c]:.2f}" if c in timings else "–" for c in columns)
                + f" | {ratio} |"
            )
    return lines
