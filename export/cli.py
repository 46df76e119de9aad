"""Subcommands of the training package, registered under ``swapcam.commands``. Imports of torch
happen inside ``run`` so that ``swapcam --help`` and ``swapcam live`` never pay for them."""

from __future__ import annotations

import argparse
import sys

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.settings import add_arguments, from_sources, load_config

from .settings import EXPORT_PRECISIONS, ModelSettings, PretrainSettings, TrainSettings, listing


class ExtractCommand:
    help = "detect and align faces from videos, photos, a camera or the synthetic generator into a faceset"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from swapcam.realtime.sources.capture import input_usage

        from .extract import ExtractSettings

        parser.add_argument(
            "--input",
            action="append",
            required=True,
            metavar="INPUT",
            help=f"{input_usage(short=True)}; repeat for several inputs",
        )
        parser.add_argument("--out", required=True, metavar="DIR", help="faceset folder (created, or added to)")
        parser.add_argument("--config", metavar="PATH.toml", help="settings file with an [extract] section")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        add_arguments(parser, ExtractSettings)

    def run(self, args: argparse.Namespace) -> int:
        from .extract import ExtractSettings, extract

        settings = from_sources(ExtractSettings, args, load_config(args.config))
        summary = extract(args.input, args.out, settings, progress=not args.no_progress)
        for line in summary.lines():
            print(f"swapcam extract: {line}", file=sys.stderr)
        if summary.faces_saved == 0:
            raise UserError(f"no faces were saved to {args.out}: check the inputs and --min-face")
        return 0


class TrainCommand:
    help = "train a face-swap model from a source faceset (the face to wear) and target facesets (people on camera)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--source", required=True, metavar="FACESET", help="faceset of the face to wear")
        parser.add_argument(
            "--target",
            action="append",
            required=True,
            metavar="FACESET",
            help="faceset of a person on camera; repeat for several",
        )
        parser.add_argument(
            "--out", required=True, metavar="RUN_DIR", help="run folder: checkpoint.pt, losses.csv, previews/"
        )
        parser.add_argument(
            "--resume",
            nargs="?",
            const="",
            metavar="CHECKPOINT",
            help="continue from RUN_DIR/checkpoint.pt, or from the checkpoint given",
        )
        parser.add_argument(
            "--holdout",
            metavar="FACESET",
            help="faces of the source kept out of training (e.g. extracted from another clip): "
            "their reconstruction PSNR goes to RUN_DIR/holdout.csv at every preview",
        )
        parser.add_argument(
            "--source-name",
            help="name of the source identity for the model card (default: the source faceset's folder name)",
        )
        parser.add_argument(
            "--target-name",
            action="append",
            metavar="NAME",
            help="names of the target identities, one per --target (default: folder names)",
        )
        parser.add_argument("--config", metavar="PATH.toml", help="settings file with [model] and [train] sections")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        add_arguments(parser, ModelSettings)
        add_arguments(parser, TrainSettings)

    def run(self, args: argparse.Namespace) -> int:
        from pathlib import Path

        from .training.checkpoint import CHECKPOINT_NAME
        from .training.loop import TrainRun, train

        config = load_config(args.config)
        out = Path(args.out)
        resume = None if args.resume is None else Path(args.resume) if args.resume else out / CHECKPOINT_NAME
        run = TrainRun(
            source=Path(args.source),
            targets=[Path(t) for t in args.target],
            out=out,
            resume=resume,
            holdout=Path(args.holdout) if args.holdout else None,
            source_name=args.source_name,
            target_names=args.target_name,
            progress=not args.no_progress,
        )
        result = train(run, from_sources(ModelSettings, args, config), from_sources(TrainSettings, args, config))
        if result.rank == 0:
            print(
                f"swapcam train: {result.iterations} iterations, {result.reason}; checkpoint {result.checkpoint}",
                file=sys.stderr,
            )
        return 0


class PretrainCommand:
    help = (
        "pretrain a base model on many faces (random synthetic people, plus facesets you add) that "
        "swapcam train --base fine-tunes on a pair in a fraction of the time"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--out", required=True, metavar="DIR", help="folder: synthetic/ (the rendered pool), run/, base.pt.gz"
        )
        parser.add_argument(
            "--faceset",
            action="append",
            default=[],
            metavar="DIR",
            help="add a faceset to the pool; repeat for several",
        )
        parser.add_argument("--resume", action="store_true", help="continue the run in DIR")
        parser.add_argument("--config", metavar="PATH.toml", help="settings file with [pretrain], [model], [train]")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        add_arguments(parser, PretrainSettings)
        add_arguments(parser, ModelSettings)
        add_arguments(parser, TrainSettings)

    def run(self, args: argparse.Namespace) -> int:
        from pathlib import Path

        from .pretrain import pretrain

        config = load_config(args.config)
        base = pretrain(
            Path(args.out),
            [Path(f) for f in args.faceset],
            from_sources(PretrainSettings, args, config),
            from_sources(ModelSettings, args, config),
            from_sources(TrainSettings, args, config),
            resume=args.resume,
            progress=not args.no_progress,
        )
        if base is not None:
            print(
                f"swapcam pretrain: wrote {base}: start a pair from it with swapcam train --base {base}",
                file=sys.stderr,
            )
        return 0


class ExportCommand:
    help = "export a trained model's swap path to an ONNX file (with its model card) that swapcam live runs"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "checkpoint", metavar="RUN_DIR_OR_CHECKPOINT", help="a training run folder or checkpoint.pt"
        )
        parser.add_argument("--out", required=True, metavar="MODEL.onnx", help="file to write (atomically)")
        parser.add_argument(
            "--precision",
            default="fp32",
            choices=tuple(EXPORT_PRECISIONS),
            help=f"{listing(EXPORT_PRECISIONS)}; default fp32",
        )
        parser.add_argument(
            "--identity", help="identity the model renders (default: the source, the first of the card)"
        )
        parser.add_argument("--faceset", metavar="DIR", help="source faceset: parity faces, int8 calibration and PSNR")
        parser.add_argument("--target-faceset", metavar="DIR", help="camera-side faceset for parity and calibration")
        parser.add_argument("--preset", help="refuse a checkpoint of any other preset")
        parser.add_argument("--consent", default="", help="consent statement stored in the model card")
        parser.add_argument("--force", action="store_true", help="write an int8 model even if it loses over 1 dB PSNR")

    def run(self, args: argparse.Namespace) -> int:
        import dataclasses
        import datetime
        from pathlib import Path

        import onnx

        from swapcam.realtime import __version__

        from .evaluate import faces_from_faceset
        from .models import build_swap_module
        from .onnx_export import export_fp32_proto, export_swap_model, ms_per_face
        from .training.checkpoint import CHECKPOINT_NAME, load_model

        path = Path(args.checkpoint)
        model, card = load_model(path / CHECKPOINT_NAME if path.is_dir() else path)
        if args.preset and card.preset != args.preset:
            raise UserError(
                f"checkpoint {path} is a {card.preset!r} model, not {args.preset!r}: "
                "export the matching run or drop --preset"
            )
        identity = args.identity or card.identities[0]
        if identity not in card.identities:
            raise UserError(f"identity {identity!r} is not in this model: choose one of {', '.join(card.identities)}")
        side = "source" if identity == card.identities[0] else "target"
        card = dataclasses.replace(
            card,
            precision=args.precision,
            consent=args.consent,
            version=__version__,
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            identities=(identity, *(name for name in card.identities if name != identity)),
        )
        resolution = card.resolution
        source = faces_from_faceset(args.faceset, resolution) if args.faceset else None
        target = faces_from_faceset(args.target_faceset, resolution) if args.target_faceset else None
        swap_module = build_swap_module(model, side)
        result = export_swap_model(swap_module, card, args.out, args.precision, source, target, args.force)
        if result.parity_max_abs is not None:
            print(f"swapcam export: parity max |onnxruntime - PyTorch| = {result.parity_max_abs:.2e}", file=sys.stderr)
        if result.psnr_db is not None and result.psnr_fp32_db is not None:  # int8: both measured
            print(
                f"swapcam export: source reconstruction PSNR fp32 {result.psnr_fp32_db:.2f} dB, int8 "
                f"{result.psnr_db:.2f} dB (drop {result.psnr_fp32_db - result.psnr_db:.2f} dB)",
                file=sys.stderr,
            )
        written = ms_per_face(onnx.load(str(args.out)), resolution)
        fp32 = ms_per_face(export_fp32_proto(swap_module, resolution), resolution)
        print(
            f"swapcam export: wrote {args.out} ({args.precision}, {identity}); CPU 2 threads: {written:.2f} ms/face, "
            f"fp32 {fp32:.2f} ms/face, ratio {written / fp32:.2f}",
            file=sys.stderr,
        )
        return 0


class EvaluateCommand:
    help = (
        "measure how well a model reconstructs held-out faces of the identity it renders (PSNR), and "
        "whose face its swaps show"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", metavar="MODEL.onnx", help="a swap model (.onnx or .dfm)")
        parser.add_argument(
            "--faceset",
            required=True,
            metavar="DIR",
            help="faces of the identity the model renders that training never saw",
        )
        parser.add_argument(
            "--target",
            action="append",
            default=[],
            metavar="DIR",
            help="faceset of a person on camera: swap it and tell whose face the result shows "
            "(needs the identity extra); repeat for several",
        )
        parser.add_argument("--limit", type=int, default=256, metavar="N", help="faces to use, spread over the faceset")
        parser.add_argument(
            "--at",
            type=int,
            metavar="PX",
            help="also measure with the rendering enlarged to PX (as the live loop enlarges it): "
            "compares models of different resolutions",
        )

    def run(self, args: argparse.Namespace) -> int:
        from .evaluate import evaluate, identity_check

        if args.limit < 1:
            raise UserError(f"--limit {args.limit} must be at least 1")
        for line in evaluate(args.model, args.faceset, args.limit, at=args.at).lines():
            print(f"swapcam evaluate: {line}")
        # descriptors cost ~0.1 s a face, two per swapped face: 64 give the share to ±6 %
        for check in identity_check(args.model, args.faceset, args.target, min(args.limit, 64)):
            print(f"swapcam evaluate: {check.line()}")
        return 0


class FacesetReportCommand:
    help = "compare the poses and expressions of a source faceset with the targets': what to record before training"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("source", metavar="SOURCE", help="faceset of the face to wear")
        parser.add_argument("targets", nargs="+", metavar="TARGET", help="facesets of the people on camera")
        parser.add_argument("--plot", metavar="PATH.png", help="also draw the distributions side by side")

    def run(self, args: argparse.Namespace) -> int:
        from pathlib import Path

        from swapcam.realtime.core.files import require_folder

        from .coverage import coverage, plot_coverage
        from .faceset import Faceset

        if args.plot:
            require_folder(args.plot)  # before the work, not after it
        source, targets = Faceset(args.source), [Faceset(t) for t in args.targets]
        report = coverage(source, targets)
        for line in report.lines():
            print(f"swapcam faceset-report: {line}")
        if args.plot:
            plot_coverage(report, Path(args.plot), source.folder.name, "+".join(t.folder.name for t in targets))
            print(f"swapcam faceset-report: wrote {args.plot}")
        return 0


class TrainDetectorCommand:
    help = "rebuild the face-swap detector that swapcam verify runs, from synthetic people only"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from .detector.settings import DetectorSettings

        parser.add_argument(
            "--work", default="detector-work", metavar="DIR", help="folder for clips, swaps and crops (reused)"
        )
        parser.add_argument("--out", metavar="PATH.onnx", help="where to write it (default: the shipped detector)")
        parser.add_argument(
            "--swap-model",
            action="append",
            default=[],
            metavar="NAME=PATH.onnx",
            help="a swap model whose swaps of the synthetic people to train on; repeat (default: the demo model)",
        )
        parser.add_argument("--config", metavar="PATH.toml", help="settings file with a [detector] section")
        add_arguments(parser, DetectorSettings)

    def run(self, args: argparse.Namespace) -> int:
        from pathlib import Path

        from swapcam.realtime.provenance.detector import DETECTOR_MODEL

        from .detector.build import build
        from .detector.settings import DetectorSettings

        models = {}
        for item in args.swap_model:
            name, sep, path = item.partition("=")
            if not sep or not name or not Path(path).is_file():
                raise UserError(f"--swap-model {item!r} is not NAME=PATH.onnx of an existing file: e.g. demo=demo.onnx")
            models[name] = Path(path)
        settings = from_sources(DetectorSettings, args, load_config(args.config))
        out = build(Path(args.work), settings, models or None, Path(args.out) if args.out else DETECTOR_MODEL)
        print(f"swapcam train-detector: wrote {out}: swapcam verify uses it", file=sys.stderr)
        return 0
