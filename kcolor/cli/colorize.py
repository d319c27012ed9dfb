"""``kcolor colorize``: photos and videos into an output folder."""

import argparse

from kcolor.cli import options
from kcolor.errors import ConfigError


def add_parser(commands) -> None:
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
    options.add_model_arguments(colorize)
    options.add_precision(colorize)
    colorize.add_argument(
        "--samples", type=int, default=1, help="colourings per photo (GAN models only)"
    )
    colorize.add_argument("--seed", type=int, default=None, help="repeatable GAN colourings")
    colorize.add_argument("--batch-size", type=int, default=1, help="photos per model call")
    colorize.add_argument("--force", action="store_true", help="replace existing outputs")
    colorize.add_argument("--format", choices=("png", "jpg"), default="png")
    colorize.add_argument("--quiet", action="store_true", help="no progress bar")
    videos = options.add_temporal_arguments(colorize)
    videos.add_argument(
        "--crf", type=int, default=None, help="encoder quality: lower is better (H.264: 18)"
    )


def run(args: argparse.Namespace) -> int:
    from kcolor import jobs

    if args.samples < 1 or args.batch_size < 1:
        raise ConfigError("--samples and --batch-size must be at least 1.")
    colorizer = options.colorizer_of(args)
    colorizer.check_samples(args.samples)

    def colorize_all(planned):
        return jobs.colorize_jobs(
            planned,
            colorizer,
            samples=args.samples,
            seed=args.seed,
            batch_size=args.batch_size,
            fmt=args.format,
            force=args.force,
            progress=not args.quiet,
            max_pixels=options.max_pixels(args),
            temporal=options.temporal_settings(args),
            crf=args.crf,
        )

    return options.run_jobs(args, colorize_all)
