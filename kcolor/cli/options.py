"""Options several commands share, and what they turn into."""

import argparse
import sys

from kcolor.errors import ConfigError


def add_model_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--model",
        default=None,
        help="a .keras or .tflite model file (or the name of a bundled model: default, "
        "mobilenet_v2, hypercolumn, gan)",
    )
    command.add_argument(
        "--size", type=int, default=256, help="shorter side of the processing size (256)"
    )
    add_max_pixels(command)


def add_precision(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16", "int8"),
        default="auto",
        help="arithmetic of the network: auto (default) takes bfloat16 where the CPU "
        "computes it natively (AVX512-BF16 or AMX) and float32 elsewhere; int8 runs an "
        "int8 TFLite conversion, made on first use and cached",
    )


def add_max_pixels(command: argparse.ArgumentParser) -> None:
    from kcolor.limits import DEFAULT_MAX_PIXELS

    command.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse photos of more pixels than this, read from the file's header before "
        f"decoding (default {DEFAULT_MAX_PIXELS:,}; 0: no limit)",
    )


def max_pixels(args: argparse.Namespace) -> int | None:
    if args.max_pixels < 0:
        raise ConfigError("--max-pixels must be 0 (no limit) or more.")
    return args.max_pixels or None


def colorizer_of(args: argparse.Namespace):
    from kcolor import api

    return api.make_colorizer(args.model, args.size, args.precision)


def add_temporal_arguments(command: argparse.ArgumentParser):
    """The video options ``colorize`` and ``evaluate`` share; returns their group."""
    videos = command.add_argument_group(
        "videos", "(.mp4, .mov, .avi, .mkv, .webm: written in their own format, audio copied)"
    )
    videos.add_argument(
        "--temporal",
        choices=("on", "off"),
        default="on",
        help="on (default): carry colour along the motion so it stays put between frames; "
        "off: colour every frame on its own",
    )
    videos.add_argument(
        "--temporal-strength",
        type=float,
        default=0.8,
        metavar="S",
        help="weight of the colour carried from the previous frame where the motion is "
        "followed, 0 to below 1 (0.8)",
    )
    videos.add_argument(
        "--keyframe-interval",
        type=int,
        default=1,
        metavar="K",
        help="run the network on every K-th frame and carry colour along the motion in "
        "between (faster; 1, the default, runs it on every frame)",
    )
    return videos


def temporal_settings(args: argparse.Namespace):
    from kcolor.video import TemporalSettings

    return TemporalSettings(
        enabled=args.temporal == "on",
        strength=args.temporal_strength,
        keyframe_interval=args.keyframe_interval,
    )


def photo_paths(inputs) -> list[str]:
    from kcolor.data import sources

    if not inputs:
        return []
    return [path for source in sources.resolve_sources(inputs) for path in source.images]


def run_jobs(args: argparse.Namespace, colorize_files) -> int:
    """Plan the outputs of ``args.inputs``, report inputs that cannot be planned, run
    ``colorize_files(jobs)`` and print the summary; returns the exit status."""
    from kcolor import jobs

    left_out = []
    planned, problems = jobs.plan_jobs(
        args.inputs, args.output, args.format, args.samples, left_out=left_out
    )
    for name, reason in left_out:
        print(jobs.one_line(f"left out {name}: {reason}"), file=sys.stderr)
    for name, reason in problems:
        print(jobs.one_line(f"failed {name}: {reason}"), file=sys.stderr)
    report = colorize_files(planned)
    failures = len(report.failed) + len(problems)
    print(
        f"wrote {len(report.written)} file(s) to {args.output}; "
        f"{len(report.skipped)} skipped, {failures} failed"
        + (f", {len(left_out)} left out (not photos)" if left_out else "")
    )
    return 1 if failures else 0
