"""``kcolor evaluate``: colorize the gray of colour photos (or videos) and score the result."""

import argparse
import json
import sys

from kcolor.cli import options
from kcolor.errors import ConfigError, KcolorError


def add_parser(commands) -> None:

    evaluate = commands.add_parser(
        "evaluate",
        help="colorize the grayscale of colour photos and compare with the originals",
        description="Report PSNR, SSIM, the AuC of the ab-error CDF (0-150) and "
        "colorfulness for the model and for the no-colour baseline, per image and mean.",
    )
    evaluate.add_argument(
        "inputs", nargs="+", metavar="DATA", help="files, folders, globs or TFRecord shards"
    )
    options.add_model_arguments(evaluate)
    options.add_precision(evaluate)
    evaluate.add_argument("--json", help="write the full report to this JSON file")
    evaluate.add_argument("--sheet", help="write a gray | result | original contact sheet PNG")
    evaluate.add_argument("--sheet-rows", type=int, default=8, help="photos on the sheet (8)")
    evaluate.add_argument("--seed", type=int, default=0, help="GAN noise seed")
    evaluate.add_argument(
        "--samples",
        type=int,
        default=1,
        help="GAN models: colourings per photo; above 1 also reports their diversity",
    )
    evaluate.add_argument(
        "--tint",
        nargs=2,
        type=float,
        metavar=("A", "B"),
        help="the mean-tint baseline's constant Lab a and b (default: the average colour "
        "of the bundled models' training photos)",
    )
    evaluate.add_argument(
        "--limit", type=int, help="score this many photos, drawn at random (by --seed)"
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    options.add_temporal_arguments(evaluate)


def run(args: argparse.Namespace) -> int:
    from kcolor import evaluation, outputs

    colorizer = options.colorizer_of(args)
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1.")
    from kcolor.data.sources import is_video

    videos = [given for given in args.inputs if is_video(given)]
    if videos:
        if len(videos) != len(args.inputs):
            raise ConfigError("evaluate photos and videos in separate runs.")
        return _evaluate_videos(args, colorizer, videos)
    photos = evaluation.photos_of(args.inputs, args.limit, args.seed)
    colorizer.check_samples(args.samples)
    report, rows = evaluation.evaluate_files(
        photos,
        colorizer,
        args.seed,
        not args.quiet,
        samples=args.samples,
        tint=args.tint,
        max_pixels=options.max_pixels(args),
        sheet_rows=args.sheet_rows,
    )
    print(evaluation.format_report(report))
    if args.json:
        text = json.dumps(report, indent=2).encode()
        outputs.write_atomically(args.json, lambda handle: handle.write(text))
    if args.sheet and rows:
        evaluation.contact_sheet(rows, args.sheet)
    return 1 if report["failed"] else 0


def _evaluate_videos(args: argparse.Namespace, colorizer, videos) -> int:
    """``kcolor evaluate`` on colour videos: one report per video (see
    :mod:`kcolor.video.evaluation`); a video that cannot be read fails alone."""
    from kcolor import jobs, outputs
    from kcolor.video import evaluation as video_evaluation

    reports, failed = [], 0
    for path in videos:
        try:
            report = video_evaluation.evaluate_video(
                path,
                colorizer,
                options.temporal_settings(args),
                args.seed,
                args.limit,
                not args.quiet,
                options.max_pixels(args),
            )
        except (KcolorError, FileNotFoundError) as error:
            print(jobs.one_line(f"failed {path}: {error}"), file=sys.stderr)
            failed += 1
            continue
        print(video_evaluation.format_video_report(report))
        reports.append(report)
    if args.json:
        text = json.dumps(reports, indent=2).encode()
        outputs.write_atomically(args.json, lambda handle: handle.write(text))
    return 1 if failed else 0
