"""``python -m benchmarks [--quick] [--only kernels,model,pipeline,quality,provenance,recall,soak] [--model M.onnx] [--repeat N] [--live-args=FLAGS] [--clip PATH] [--minutes N] [--out DIR]``

Writes DIR/results.json, DIR/results.md, DIR/stages.png (per-stage latency) and
DIR/quality_sheet.png (the quality section's input | output frames) and DIR/watermark_diff.png (the
provenance section's amplified mark). ``--quick`` runs
every section briefly; CI uses it to check the suite runs and writes valid JSON, never to judge speed.
The soak (``--only soak --minutes 30``: DIR/soak.json, DIR/soak.png) runs only when named: it takes
as long as it is asked to.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from . import detection, hands, kernels, model, pipeline, provenance, quality, recall, soak, training_speed
from .common import Results, machine
from .quality_data import DEFAULT_CACHE

SECTIONS = {
    "kernels": kernels,
    "model": model,
    "pipeline": pipeline,
    "quality": quality,
    "provenance": provenance,
    "recall": recall,
    "soak": soak,
    "hands": hands,
    "training_speed": training_speed,
    "detection": detection,
}
DEFAULT_SECTIONS = ("kernels", "model", "pipeline", "quality", "provenance", "recall")  # the soak only when asked for


def chart(results: Results, path: Path) -> bool:
    """Per-stage p50 latency bars for each pipeline run; False when matplotlib is unavailable."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    runs = {k: v for k, v in results.get("pipeline", {}).items() if k != "startup"}
    if not runs:
        return False
    figure, axis = plt.subplots(figsize=(8, 3 + 0.4 * len(runs)))
    for row, report in enumerate(runs.values()):
        left = 0.0
        for stage, value in report["stages_ms"].items():
            axis.barh(row, value["p50"], left=left, label=stage if row == 0 else None)
            left += value["p50"]
    axis.set_yticks(range(len(runs)), list(runs))
    axis.set_xlabel("ms per frame (p50 of each stage)")
    axis.legend(ncol=4, fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (checks the suite works)")
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_SECTIONS),
        help=f"comma-separated sections: {', '.join(SECTIONS)} (default: all but soak)",
    )
    parser.add_argument(
        "--model", help="model for the pipeline and soak sections (default: the live preset, untrained weights)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="pipeline runs per case; medians are reported")
    parser.add_argument(
        "--live-args",
        default="",
        metavar='"FLAGS"',
        help="extra swapcam live flags for the pipeline runs, to measure a setting (e.g. --live-args=--no-spin)",
    )
    parser.add_argument(
        "--clip",
        action="append",
        default=[],
        metavar="PATH",
        help="quality: also score a self-swap of this clip (a model trained on its first 80 %%)",
    )
    parser.add_argument(
        "--cases",
        default="",
        metavar="TEXT,…",
        help="quality: only the cases whose name contains one of these (e.g. synthetic,d6)",
    )
    parser.add_argument(
        "--cache",
        default=str(DEFAULT_CACHE),
        metavar="DIR",
        help="quality: where frames, facesets and the models trained for it are kept",
    )
    parser.add_argument("--minutes", type=float, default=30, help="soak: how long to run, in minutes (at least 3)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"), help="output folder")
    return parser


def run_section(name: str, args: argparse.Namespace, out: Path) -> Results:
    """One section's results, run with the arguments it takes."""
    section = SECTIONS[name]
    if name == "pipeline":
        return section.run(args.quick, args.model, args.repeat, shlex.split(args.live_args))
    if name == "quality":
        return section.run(
            args.quick,
            shlex.split(args.live_args),
            args.clip,
            Path(args.cache),
            out,
            [c for c in args.cases.split(",") if c],
        )
    if name == "provenance":
        return section.run(args.quick, out)
    if name == "soak":
        return section.run(args.quick, args.model, args.minutes, out)
    return section.run(args.quick)


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section {sorted(unknown)[0]}: choose from {', '.join(SECTIONS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: Results = {"machine": machine(), "quick": args.quick, "live_args": args.live_args}
    lines = [
        f"# swapcam benchmarks {'(quick)' if args.quick else ''}",
        "",
        f"{results['machine']['date']} · {results['machine']['cpu']} · {results['machine']['cores']} cores · "
        f"Python {results['machine']['python']}",
        "",
    ]
    if args.live_args:
        lines += [f"Pipeline runs with `swapcam live {args.live_args}`.", ""]
    for name in wanted:
        print(f"benchmarks: {name}…", flush=True)
        results[name] = run_section(name, args, out)
        lines += [f"## {name}", "", *SECTIONS[name].markdown(results[name]), ""]
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    if chart(results, out / "stages.png"):
        print(f"benchmarks: chart {out / 'stages.png'}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
