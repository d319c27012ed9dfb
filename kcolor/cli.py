"""The ``kcolor`` console command."""

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    from kcolor import __version__

    parser = argparse.ArgumentParser(
        prog="kcolor",
        description="Automatic colorization of grayscale photographs (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"kcolor {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    shard = commands.add_parser(
        "make-tfrecords",
        help="shard folders of images into TFRecord files for training at scale",
        description="Check every image and write the readable ones into TFRecord shards "
        "of their original encoded bytes. Unreadable files are reported and left out.",
    )
    shard.add_argument("sources", nargs="+", help="folders (recursive), glob patterns or files")
    shard.add_argument("-o", "--output", required=True, help="folder for the shards")
    shard.add_argument("--images-per-shard", type=int, default=1000)
    shard.add_argument("--prefix", default="images", help="shard file name prefix")
    shard.add_argument("--overwrite", action="store_true", help="replace existing shards")
    shard.add_argument("--quiet", action="store_true", help="no progress bar")

    colorize = commands.add_parser(
        "colorize",
        help="colorize photos (files, folders, globs) into an output folder",
        description="Colorize grayscale (or colour, from their lightness) photos. Each "
        "output has its input's size; folders keep their structure under OUTPUT. Files "
        "that cannot be read are reported and the rest still finish; the exit status is "
        "1 if any file failed. Existing outputs are kept unless --force is given.",
    )
    colorize.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or globs")
    colorize.add_argument("-o", "--output", required=True, help="output folder")
    _add_model_arguments(colorize)
    colorize.add_argument(
        "--samples", type=int, default=1, help="colourings per photo (GAN models only)"
    )
    colorize.add_argument("--seed", type=int, default=None, help="repeatable GAN colourings")
    colorize.add_argument("--batch-size", type=int, default=1, help="photos per model call")
    colorize.add_argument("--force", action="store_true", help="replace existing outputs")
    colorize.add_argument("--format", choices=("png", "jpg"), default="png")
    colorize.add_argument("--quiet", action="store_true", help="no progress bar")

    evaluate = commands.add_parser(
        "evaluate",
        help="colorize the grayscale of colour photos and compare with the originals",
        description="Report PSNR, SSIM, the AuC of the ab-error CDF (0-150) and "
        "colourfulness for the model and for the no-colour baseline, per image and mean.",
    )
    evaluate.add_argument("inputs", nargs="+", metavar="DATA", help="files, folders or globs")
    _add_model_arguments(evaluate)
    evaluate.add_argument("--json", help="write the full report to this JSON file")
    evaluate.add_argument("--sheet", help="write a gray | result | original contact sheet PNG")
    evaluate.add_argument("--seed", type=int, default=0, help="GAN noise seed")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _add_model_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--model",
        default=None,
        help="a .keras model file (or the name of a bundled model: default, hypercolumn, gan)",
    )
    command.add_argument(
        "--size", type=int, default=256, help="shorter side of the processing size (256)"
    )


def _colorizer(args: argparse.Namespace):
    from kcolor import inference

    return inference.Colorizer(inference.load_model(args.model), args.size)


def _colorize(args: argparse.Namespace) -> int:
    from kcolor import batch, outputs

    if args.samples < 1 or args.batch_size < 1:
        raise ValueError("--samples and --batch-size must be at least 1.")
    colorizer = _colorizer(args)
    if args.samples > 1 and not colorizer.diverse:
        raise ValueError("--samples above 1 needs a GAN model; this model gives one colouring.")
    jobs, problems = outputs.plan_jobs(args.inputs, args.output, args.format, args.samples)
    for name, reason in problems:
        print(f"failed {name}: {reason}", file=sys.stderr)
    report = batch.colorize_files(
        jobs,
        colorizer,
        samples=args.samples,
        seed=args.seed,
        batch_size=args.batch_size,
        fmt=args.format,
        force=args.force,
        progress=not args.quiet,
    )
    failures = len(report.failed) + len(problems)
    print(
        f"wrote {len(report.written)} file(s) to {args.output}; "
        f"{len(report.skipped)} skipped, {failures} failed"
    )
    return 1 if failures else 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from kcolor import evaluation, outputs, sources

    colorizer = _colorizer(args)
    paths = [path for source in sources.resolve_sources(args.inputs) for path in source.images]
    report, rows = evaluation.evaluate_files(paths, colorizer, args.seed, not args.quiet)
    print(evaluation.format_report(report))
    if args.json:
        text = json.dumps(report, indent=2).encode()
        outputs.write_atomically(args.json, lambda handle: handle.write(text))
    if args.sheet and rows:
        evaluation.contact_sheet(rows, args.sheet)
    return 1 if report["failed"] else 0


def _make_tfrecords(args: argparse.Namespace) -> int:
    from kcolor import tfrecords

    written = tfrecords.write_tfrecords(
        args.sources,
        args.output,
        images_per_shard=args.images_per_shard,
        prefix=args.prefix,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(f"wrote {len(written)} shard(s) to {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kcolor`` command; returns the process exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handlers = {
        "make-tfrecords": _make_tfrecords,
        "colorize": _colorize,
        "evaluate": _evaluate,
    }
    try:
        return handlers[args.command](args)
    except (FileNotFoundError, FileExistsError, ValueError, TypeError) as error:
        print(f"kcolor {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"kcolor {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
