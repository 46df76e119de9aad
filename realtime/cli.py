"""``swapcam`` command line. Subcommands are plugins registered under the entry-point group
``swapcam.commands`` (realtime registers ``live``; the training package registers its own), so this
module never imports the training code or torch.

Every user-fixable problem ends in one line on stderr, ``swapcam: error: …``, and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from .core.command import Command, OneLineErrorParser
from .core.errors import UserError
from .core.settings import add_arguments, from_sources, load_config


class LiveCommand:
    help = "stream a camera, file or synthetic input through a swap model"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from .run.config import LIVE_SETTINGS
        from .sinks.kinds import output_usage
        from .sources.capture import input_usage

        parser.add_argument("--input", default="camera:0", help=f"{input_usage()} (default: camera:0)")
        parser.add_argument("--model", help="swap model (.onnx or DeepFaceLive .dfm); default: the demo model")
        parser.add_argument(
            "--output",
            action="append",
            help=f"{output_usage()}; repeat it for several outputs, e.g. --output virtualcam --output file:rec.mp4 "
            "(default: auto, the virtual camera when one opens, else a window when there is a display)",
        )
        parser.add_argument(
            "--report", metavar="PATH.json", help="write the run report (counts, fps, latency, stages) as JSON"
        )
        parser.add_argument("--config", metavar="PATH.toml", help="settings file with [capture], [mask], … sections")
        for settings_class in LIVE_SETTINGS:
            add_arguments(parser, settings_class)

    def run(self, args: argparse.Namespace) -> int:
        from .run.demo import DEMO_MODEL
        from .run.live import LiveRun, run_live

        model = args.model
        if model is None:
            print(
                f"swapcam: no --model given: using the demo model ({DEMO_MODEL.name}, synthetic identity bo)",
                file=sys.stderr,
            )
            model = DEMO_MODEL
        run_live(
            LiveRun(
                input=args.input,
                model=model,
                output=args.output or ["auto"],
                config=live_config(args),
                report_path=args.report,
            )
        )
        return 0


def live_config(args: argparse.Namespace):
    """The LiveConfig of a command line: defaults < --config file < flags."""
    from .run.config import config_from

    return config_from(args, load_config(args.config))


class DemoCommand:
    help = "the demo: a synthetic camera through the demo model, written side by side to demo.mp4"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from .run.config import LIVE_SETTINGS
        from .run.demo import DEMO_SETS, DemoSettings

        parser.add_argument("--report", metavar="PATH.json", help="also write the run report as JSON")
        parser.add_argument("--config", metavar="PATH.toml", help="settings file ([demo], [mask], … sections)")
        add_arguments(parser, DemoSettings)
        for settings_class in LIVE_SETTINGS:
            if settings_class.section not in DEMO_SETS:
                add_arguments(parser, settings_class)

    def run(self, args: argparse.Namespace) -> int:
        from .core.files import require_folder
        from .run.demo import DemoSettings, run_demo
        from .run.report import write_json_atomic

        if args.report:
            require_folder(args.report)
        report = run_demo(from_sources(DemoSettings, args, load_config(args.config)), live_config(args))
        if args.report:
            write_json_atomic(args.report, report)
        return 0


class InfoCommand:
    help = "show a swap model's card, inputs/outputs, size, GFLOPs and speed on this machine"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from .stages.swap import SwapSettings

        parser.add_argument("model", help="a .onnx or DeepFaceLive .dfm file")
        add_arguments(parser, SwapSettings)

    def run(self, args: argparse.Namespace) -> int:
        from .stages.modelinfo import model_info
        from .stages.swap import SwapSettings

        for line in model_info(args.model, from_sources(SwapSettings, args)).lines():
            print(line)
        return 0


class ReportCommand:
    help = "summarise a run report (--report of live or demo); --plot draws its latency and stage times"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("report", metavar="RUN.json", help="a report written by swapcam live --report")
        parser.add_argument("--plot", metavar="PATH.png", help="draw the latency histogram and per-stage times")

    def run(self, args: argparse.Namespace) -> int:
        from .run.report import stage_table, summary_lines
        from .run.reportplot import plot_report, read_report

        report = read_report(args.report)
        summary = [line for line in summary_lines(report) if not line.startswith("stage ms")]  # the table says it
        for line in summary + stage_table(report):
            print(f"swapcam report: {line}")
        if args.plot:
            plot_report(report, args.plot)
            print(f"swapcam report: wrote {args.plot}")
        return 0


class VerifyCommand:
    help = (
        "look for swapcam's invisible mark (and a C2PA manifest) in a video or image and score its faces with the "
        "swap detector; exit 0 marked, 1 nothing found, 2 bad input, 3 no mark but the face looks swapped"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", help="a video or image file")
        parser.add_argument("--json", action="store_true", help="print the findings as JSON (every window too)")
        parser.add_argument("--window", type=float, default=1.0, metavar="SECONDS", help="window length (default: 1)")
        parser.add_argument(
            "--model", action="append", default=[], help="a model file or folder: name the model whose mark it is"
        )
        parser.add_argument("--trust", metavar="ROOTS.pem", help="trusted root certificates for the C2PA signature")
        parser.add_argument(
            "--detector", metavar="PATH.onnx", help="swap detector to score the faces with (default: the shipped one)"
        )
        parser.add_argument("--no-detect", action="store_true", help="look for the mark only, not at the faces")

    def run(self, args: argparse.Namespace) -> int:
        import json
        from pathlib import Path

        from .provenance.detector import DETECTOR_MODEL
        from .provenance.verify import exit_code, verdict_lines, verify

        detector = None if args.no_detect else Path(args.detector) if args.detector else DETECTOR_MODEL
        report = verify(args.path, args.window, args.model, args.trust, detector)
        if args.json:
            print(json.dumps(report, indent=1))
        else:
            for line in verdict_lines(report):
                print(f"swapcam verify: {line}")
        return exit_code(report)


VERBOSE_HELP = "show the libraries' own log lines (mediapipe, TensorFlow Lite, OpenCV), hidden by default"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="swapcam", description="Real-time face swap for video calls, demos and latency work."
    )
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=OneLineErrorParser)
    for entry in sorted(entry_points(group="swapcam.commands"), key=lambda e: e.name):
        command: Command = entry.load()()
        sub = commands.add_parser(entry.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        # after the command as well (swapcam live … --verbose); SUPPRESS keeps a top-level one
        sub.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
        sub.set_defaults(handler=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .core.quiet import quiet_libraries

    parser = build_parser()
    args = parser.parse_args(argv)
    with quiet_libraries(enabled=not args.verbose):
        try:
            return args.handler.run(args)
        except UserError as err:
            print(f"swapcam: error: {err}", file=sys.stderr)
            return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
