"""``swapcam live`` of several builds side by side, in one sitting on one machine: the ratios between
builds are the figures that travel between machines.

``python -m benchmarks.side_by_side MODEL.onnx CASE … [--rounds 2] [--seconds 15] [--out side.json]``
where a CASE is ``REV`` or ``REV:FLAGS`` (``HEAD``, ``f4b33c7``, ``HEAD:--no-overlap``; ``.`` is
the working tree). Each revision is checked out in a temporary git worktree and run in its own
process with this virtual environment, through that build's own ``LiveCommand`` (older builds
register other subcommands); the input is 720p synthetic at 30 fps, the output ``null``. Rounds
alternate the cases; medians go to stdout and every run to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import tempfile
from pathlib import Path

from .pipeline import run_live
from .quality_data import ROOT

# run in the build's own tree: its LiveCommand and its quiet filter, wherever they live in it
DRIVER = """
import argparse, sys
from swapcam.realtime.cli import LiveCommand
try:
    from swapcam.realtime.core.quiet import quiet_libraries
except ImportError:
    from swapcam.realtime.quiet import quiet_libraries
parser = argparse.ArgumentParser()
LiveCommand().add_arguments(parser)
with quiet_libraries(enabled=True):
    sys.exit(LiveCommand().run(parser.parse_args(sys.argv[1:])))
"""


def checkout(rev: str, scratch: Path) -> Path:
    """A folder whose ``swapcam`` package is ``rev``'s realtime/ and export/ (for PYTHONPATH)."""
    tree = ROOT if rev == "." else scratch / f"tree-{rev}"
    if rev != "." and not tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
    shim = scratch / f"path-{rev}" / "swapcam"
    shim.mkdir(parents=True, exist_ok=True)
    for part in ("realtime", "export"):
        (shim / part).unlink(missing_ok=True)
        (shim / part).symlink_to(tree / part)
    return shim.parent


def run_once(path: Path, model: str, flags: list[str], seconds: float) -> dict:
    args = ["--input", "synthetic:size=1280x720", "--model", model, "--output", "null", "--seconds", str(seconds)]
    report = run_live([*args, *flags], {"PYTHONPATH": str(path)}, ("-c", DRIVER))
    latency = report["latency_ms"]
    return {
        "fps": report["fps"],
        "p50": latency["p50"],
        "p95": latency["p95"],
        "p99": latency["p99"],
        # of the frames the camera gave: those written plus those dropped on the way
        "dropped_pct": round(100 * report["frames_dropped"] / max(1, report["frames"] + report["frames_dropped"]), 1),
        "cpu_cores": report["cpu_cores"],
        "stages": {name: value["p50"] for name, value in report["stages_ms"].items()},
        # the frame budget's steps in force at the end (None: a build without one, or --no-shed)
        "shed": (report.get("shed") or {}).get("in_force_at_end"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.side_by_side", description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("cases", nargs="+", metavar="CASE")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", default="side_by_side.json")
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {case: [] for case in args.cases}
    with tempfile.TemporaryDirectory() as scratch:
        try:
            paths = {case: checkout(case.partition(":")[0], Path(scratch)) for case in args.cases}
            for _ in range(args.rounds):
                for case in args.cases:
                    flags = shlex.split(case.partition(":")[2])
                    runs[case].append(run_once(paths[case], str(Path(args.model).resolve()), flags, args.seconds))
                    print(case, json.dumps(runs[case][-1]), flush=True)
        finally:
            for rev in dict.fromkeys(case.partition(":")[0] for case in args.cases):  # a rev's cases share a tree
                if rev != ".":
                    subprocess.run(
                        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(Path(scratch) / f"tree-{rev}")],
                        check=False,
                    )
    Path(args.out).write_text(json.dumps(runs, indent=1) + "\n")
    for case, results in runs.items():
        medians = {
            key: statistics.median(r[key] for r in results) for key in ("fps", "p50", "p95", "p99", "dropped_pct")
        }
        print(f"{case}: " + ", ".join(f"{key} {value:g}" for key, value in medians.items()))


if __name__ == "__main__":
    main()
